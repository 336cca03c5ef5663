"""The local adapters for ``quaywatch serve``: one SQLite database (WAL) in the data directory
holds every table and queue; secrets are encrypted with the data directory's key file;
objects are files. Every write is committed before the call returns."""
