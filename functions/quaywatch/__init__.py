"""quaywatch: container-vulnerability monitor for Quay registries."""

__version__ = "0.1.0"
