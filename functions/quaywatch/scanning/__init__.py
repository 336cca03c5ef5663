"""Scanning: resolve an image in a registry, analyze its layers, assemble the inventory."""
