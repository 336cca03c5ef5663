"""``quaywatch serve``: the functions of template.yaml, unchanged, on one machine.

moto serves AWS on loopback; an HTTP gateway turns requests into API Gateway events; SQS
pollers feed the workers real batch events; a scheduler fires the template's schedules;
state is snapshotted to the data directory and restored on start.
"""
