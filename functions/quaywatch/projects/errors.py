"""Errors of testing projects that the workers tell apart."""


class ProjectOrphaned(Exception):
    """A project whose integration no longer exists (it cannot be tested)."""
