"""Implementations of ``quaywatch.ports``: ``aws`` (boto3) for the deployed stack, ``local``
(SQLite and files) for ``quaywatch serve``. Only composition roots choose between them."""
