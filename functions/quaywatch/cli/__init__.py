"""The ``quaywatch`` command line."""
