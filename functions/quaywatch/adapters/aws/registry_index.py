"""The registry index, sync policies and sync runs on DynamoDB (RegistryTable).

- ``(I#<integration>, R#<repository>)``: a repository's summary (name, tag count, synced at).
- ``(I#<integration>#R#<repository>, T#<tag>)``: its tags, one item each (a partition per
  repository spreads a sync's writes); GSI ``tags_by_integration`` (integration,
  repository:tag) reads every tag of an integration in pages, for the planner.
- ``(I#<integration>, D#<repository>:<tag>)``: a tag whose sync-made project a user deleted.
- ``(I#<integration>, POLICY)``: the sync policy; sparse GSI ``due`` (``POLICY``, next_sync_at).
- ``(I#<integration>, RUN#<id>)``: a run (ids sort by time) with its counters, and
  ``(I#<integration>#RUN#<id>, R#<repository>)``: pending -> done once, in one transaction
  with the counter; both expire after 90 days (TTL).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from quaywatch.adapters.aws.dynamodb import _condition_failed, _plain, conditional_update, query_all
from quaywatch.adapters.cursors import decode_cursor, encode_cursor
from quaywatch.registrysync.records import IndexedRepository, IndexedTag, SyncPolicy, SyncRun

RUN_RETENTION_SECONDS = 90 * 24 * 3600
_RUN_KEYS = ("pk", "sk", "expires_at")


def _integration(integration_id: str) -> str:
    return f"I#{integration_id}"


def _tags_partition(integration_id: str, repository: str) -> str:
    return f"I#{integration_id}#R#{repository}"


class DynamoRegistryIndex:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put_repository(self, integration_id: str, repository: IndexedRepository, tags: list[IndexedTag]) -> None:
        partition = _tags_partition(integration_id, repository.name)
        stored = {item["sk"] for item in query_all(self._table, KeyConditionExpression=Key("pk").eq(partition),
                                                    ProjectionExpression="sk")}
        wanted = {f"T#{t.tag}" for t in tags}
        with self._table.batch_writer() as batch:
            for tag in tags:
                batch.put_item(Item={"pk": partition, "sk": f"T#{tag.tag}", **tag.model_dump(exclude_none=True),
                                     "tag_integration": integration_id, "tag_key": f"{tag.repository}:{tag.tag}"})
            for gone in stored - wanted:
                batch.delete_item(Key={"pk": partition, "sk": gone})
            batch.put_item(Item={"pk": _integration(integration_id), "sk": f"R#{repository.name}",
                                 **repository.model_dump(), "name_lower": repository.name.lower()})

    def delete_repository(self, integration_id: str, repository: str) -> None:
        partition = _tags_partition(integration_id, repository)
        items = query_all(self._table, KeyConditionExpression=Key("pk").eq(partition), ProjectionExpression="pk, sk")
        with self._table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            batch.delete_item(Key={"pk": _integration(integration_id), "sk": f"R#{repository}"})

    def repositories(self, integration_id: str, search: str | None, limit: int,
                     cursor: str | None = None) -> tuple[list[IndexedRepository], str | None]:
        arguments: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_integration(integration_id)) & Key("sk").begins_with("R#")}
        if search:
            arguments["FilterExpression"] = Attr("name_lower").contains(search.lower())
        if cursor:
            (after,) = decode_cursor(cursor, 1)
            arguments["ExclusiveStartKey"] = {"pk": _integration(integration_id), "sk": f"R#{after}"}
        found: list[IndexedRepository] = []
        while True:  # a filter drops items after the read: read on until the page is full
            response = self._table.query(**arguments, Limit=max(limit - len(found), 1) if not search else 1000)
            for item in response.get("Items", []):
                if len(found) < limit:
                    found.append(IndexedRepository.model_validate(_plain(item)))
                else:
                    return found, encode_cursor(found[-1].name)
            last = response.get("LastEvaluatedKey")
            if last is None:
                return found, None
            if len(found) == limit:
                return found, encode_cursor(found[-1].name)
            arguments["ExclusiveStartKey"] = last

    def repository_names(self, integration_id: str) -> list[str]:
        items = query_all(self._table, ProjectionExpression="#n", ExpressionAttributeNames={"#n": "name"},
                          KeyConditionExpression=Key("pk").eq(_integration(integration_id)) & Key("sk").begins_with("R#"))
        return [item["name"] for item in items]

    def tags(self, integration_id: str, repository: str) -> list[IndexedTag]:
        items = query_all(self._table, KeyConditionExpression=Key("pk").eq(_tags_partition(integration_id, repository)))
        return [IndexedTag.model_validate(item) for item in items]

    def all_tags(self, integration_id: str) -> Iterator[IndexedTag]:
        arguments: dict[str, Any] = {"IndexName": "tags_by_integration",
                                     "KeyConditionExpression": Key("tag_integration").eq(integration_id)}
        while True:
            response = self._table.query(**arguments)
            yield from (IndexedTag.model_validate(_plain(item)) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def decline(self, integration_id: str, repository: str, tag: str) -> None:
        self._table.put_item(Item={"pk": _integration(integration_id), "sk": f"D#{repository}:{tag}",
                                   "repository": repository, "tag": tag})

    def declined(self, integration_id: str) -> set[tuple[str, str]]:
        items = query_all(self._table, KeyConditionExpression=Key("pk").eq(_integration(integration_id))
                          & Key("sk").begins_with("D#"))
        return {(item["repository"], item["tag"]) for item in items}

    def delete_integration(self, integration_id: str) -> None:
        names = self.repository_names(integration_id)
        for name in names:
            self.delete_repository(integration_id, name)
        runs = query_all(self._table, KeyConditionExpression=Key("pk").eq(_integration(integration_id)),
                         ProjectionExpression="pk, sk")
        with self._table.batch_writer() as batch:
            for item in runs:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        # a run's per-repository entries expire on their own (TTL)

    # --- policies and runs (SyncRepository) -------------------------------------------------

    def get_policy(self, integration_id: str) -> SyncPolicy | None:
        item = _plain(self._table.get_item(Key={"pk": _integration(integration_id), "sk": "POLICY"}).get("Item"))
        return SyncPolicy.model_validate(item["policy"]) if item else None

    def put_policy(self, integration_id: str, policy: SyncPolicy, next_sync_at: str | None) -> None:
        item: dict[str, Any] = {"pk": _integration(integration_id), "sk": "POLICY", "integration_id": integration_id,
                                "policy": policy.model_dump(mode="json", exclude_none=True)}
        if next_sync_at:
            item |= {"due_kind": "POLICY", "next_sync_at": next_sync_at}  # sparse: only scheduled policies
        self._table.put_item(Item=item)

    def due_policies(self, until: str) -> list[str]:
        items = query_all(self._table, IndexName="due",
                          KeyConditionExpression=Key("due_kind").eq("POLICY") & Key("next_sync_at").lte(until))
        return [item["pk"].removeprefix("I#") for item in items]

    def create_run(self, run: SyncRun) -> None:
        self._table.put_item(Item={"pk": _integration(run.integration_id), "sk": f"RUN#{run.id}",
                                   **run.model_dump(mode="json", exclude_none=True),
                                   "expires_at": int(time.time()) + RUN_RETENTION_SECONDS})

    def add_repositories(self, integration_id: str, run_id: str, repositories: list[str]) -> None:
        expires = int(time.time()) + RUN_RETENTION_SECONDS
        with self._table.batch_writer() as batch:
            for name in repositories:
                batch.put_item(Item={"pk": f"I#{integration_id}#RUN#{run_id}", "sk": f"R#{name}", "done": False,
                                     "expires_at": expires})

    def complete_repository(self, integration_id: str, run_id: str, repository: str, throttled: int = 0) -> int | None:
        client = self._table.meta.client
        try:
            client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._table.name,
                            "Key": {"pk": f"I#{integration_id}#RUN#{run_id}", "sk": f"R#{repository}"},
                            "UpdateExpression": "SET done = :yes", "ConditionExpression": "done = :no",
                            "ExpressionAttributeValues": {":yes": True, ":no": False}}},
                {"Update": {"TableName": self._table.name, "Key": {"pk": _integration(integration_id), "sk": f"RUN#{run_id}"},
                            "UpdateExpression": "ADD repositories_done :one, throttled :throttled",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": {":one": 1, ":throttled": throttled}}},
            ])
        except ClientError as exc:
            if _condition_failed(exc):
                return None
            raise
        run = self.get_run(integration_id, run_id, consistent=True)
        return run.repositories_done if run else None

    def get_run(self, integration_id: str, run_id: str, consistent: bool = False) -> SyncRun | None:
        item = self._table.get_item(Key={"pk": _integration(integration_id), "sk": f"RUN#{run_id}"},
                                    ConsistentRead=consistent).get("Item")
        return _run(item) if item else None

    def latest_run(self, integration_id: str) -> SyncRun | None:
        response = self._table.query(KeyConditionExpression=Key("pk").eq(_integration(integration_id))
                                     & Key("sk").begins_with("RUN#"), ScanIndexForward=False, Limit=1)
        items = response.get("Items", [])
        return _run(items[0]) if items else None

    def latest_completed_run(self, integration_id: str) -> SyncRun | None:
        arguments: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_integration(integration_id)) & Key("sk").begins_with("RUN#"),
            "FilterExpression": Attr("status").eq("completed"), "ScanIndexForward": False}
        while True:  # newest first, reading on past running and failed runs
            response = self._table.query(**arguments)
            if response.get("Items"):
                return _run(response["Items"][0])
            if "LastEvaluatedKey" not in response:
                return None
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def update_run(self, integration_id: str, run_id: str, changes: Mapping[str, Any],
                   expect_status: str | None = None) -> bool:
        current = self.get_run(integration_id, run_id, consistent=True)
        if current is None:
            return False
        checked = SyncRun.model_validate({**current.model_dump(), **changes})  # validated before it is written
        arguments = conditional_update({name: getattr(checked, name) for name in changes},
                                       {"status": expect_status} if expect_status is not None else {}, "pk")
        if arguments is None:
            return True
        try:
            self._table.update_item(Key={"pk": _integration(integration_id), "sk": f"RUN#{run_id}"}, **arguments)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True


def _run(item: dict[str, Any]) -> SyncRun:
    return SyncRun.model_validate({k: v for k, v in _plain(item).items() if k not in _RUN_KEYS})
