"""Organisations, users and API tokens; every request acts as one principal of one org."""
