"""Placeholder until implemented in this issue."""


def handler(event, context):
    raise NotImplementedError("import_worker")
