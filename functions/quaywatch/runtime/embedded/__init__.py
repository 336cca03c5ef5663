"""``quaywatch serve``: the functions of template.yaml, unchanged, on one machine.

The local adapters (one SQLite database in the data directory) stand in for AWS; an HTTP
gateway turns requests into API Gateway events; queue pollers feed the workers real SQS
batch events; a scheduler fires the template's schedules. Every write is committed before it
is acknowledged, so a killed server loses nothing it answered for.
"""
