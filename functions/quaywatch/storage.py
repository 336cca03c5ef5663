"""DynamoDB helpers shared by the stores (only adapters touch boto3)."""

from __future__ import annotations

from typing import Any


def query_all(table: Any, **arguments: Any) -> list[dict[str, Any]]:
    """Every item of a query, following ``LastEvaluatedKey`` pages."""
    items: list[dict[str, Any]] = []
    while True:
        response = table.query(**arguments)
        items.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
