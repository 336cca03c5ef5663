"""Matching an inventory against the advisory store: which packages are vulnerable."""
