"""Base images (issue 10): which image a project is built on, read from its Dockerfile or
from its layers, and which tags of that base would carry fewer vulnerabilities."""
