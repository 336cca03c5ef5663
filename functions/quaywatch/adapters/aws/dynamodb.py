"""The repositories on DynamoDB, with the access patterns of infra/README.md.

- AccessTable: ``TOKEN#<sha256>`` -> principal, ``ORG#<id>`` -> organisation.
- IntegrationsTable: ``id``; GSI ``by_org`` (org_id, created_at).
- ProjectsTable: ``id``; GSI ``by_org`` (org_id, repository#tag#platform), ``by_repository``
  (integration#repository, tag), sparse ``due`` (due_frequency, next_test_at).
- ImportsTable: (import_id, ``JOB``) counters and (import_id, ``IMAGE#repo:tag``) outcomes,
  changed together in one transaction; both expire after 90 days (TTL).
- FindingsTable: (``PROJECT#id``, ``LATEST`` | ``HISTORY#time`` | ``NOTIFIED#hash``) and
  (``PACKAGE#key``, ``PROJECT#id``), the index an advisory change re-tests from.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from quaywatch.adapters.cursors import decode_cursor, encode_cursor
from quaywatch.integrations.records import Integration
from quaywatch.ports import AlreadyExists, ProjectWrite, Record, StoredTest
from quaywatch.projects.records import (
    ImageOutcome,
    ImportedImage,
    ImportJob,
    Project,
    absent_means,
    stored_fields,
)

IMPORT_RETENTION_SECONDS = 90 * 24 * 3600
HISTORY_SECONDS = 180 * 24 * 3600


def _plain(value: Any) -> Any:
    """DynamoDB's numbers (Decimal) as int or float, everywhere in a record: Decimal never
    leaves this adapter (the ports speak plain JSON values)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, set):
        return {_plain(item) for item in value}
    return value


def query_all(table: Any, **arguments: Any) -> list[dict[str, Any]]:
    """Every item of a query, following ``LastEvaluatedKey`` pages."""
    items: list[dict[str, Any]] = []
    while True:
        response = table.query(**arguments)
        items.extend(_plain(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _condition_failed(exc: ClientError) -> bool:
    """A condition did not hold (and nothing else went wrong: a transaction cancelled for
    another reason, a conflict or a bad value, is raised as it is)."""
    code = exc.response["Error"]["Code"]
    if code == "TransactionCanceledException":
        reasons = {reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])}
        return "ConditionalCheckFailed" in reasons and reasons <= {"ConditionalCheckFailed", "None"}
    return code == "ConditionalCheckFailedException"


_KEY_FIELDS = ("import_id", "item", "org_id", "created_at")  # the by_org index's page position


class DynamoAccessRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put_organisation(self, org_id: str, record: Record) -> None:
        self._table.put_item(Item={"pk": f"ORG#{org_id}", **record})

    def get_organisation(self, org_id: str) -> Record | None:
        item = _plain(self._table.get_item(Key={"pk": f"ORG#{org_id}"}).get("Item"))
        return {k: v for k, v in item.items() if k != "pk"} if item else None

    def set_channels(self, org_id: str, channels: list[Record]) -> None:
        self._table.update_item(Key={"pk": f"ORG#{org_id}"}, UpdateExpression="SET channels = :c",
                                ExpressionAttributeValues={":c": channels})

    def put_token(self, token_hash: str, record: Record) -> None:
        self._table.put_item(Item={"pk": f"TOKEN#{token_hash}", **record})

    def get_token(self, token_hash: str) -> Record | None:
        item = _plain(self._table.get_item(Key={"pk": f"TOKEN#{token_hash}"}).get("Item"))
        return {k: v for k, v in item.items() if k != "pk"} if item else None

    def get_member(self, org_id: str, user_id: str) -> Record | None:
        item = _plain(self._table.get_item(Key={"pk": f"MEMBER#{org_id}#{user_id}"}).get("Item"))
        return _member(item) if item else None

    def update_member(self, org_id: str, user_id: str, changes: Mapping[str, Any]) -> None:
        """Field by field (``member_org`` keys the sparse ``members_by_org`` index)."""
        fields = {**changes, "user_id": user_id, "member_org": org_id}
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": _to_dynamo(value) for i, value in enumerate(fields.values())}
        self._table.update_item(Key={"pk": f"MEMBER#{org_id}#{user_id}"},
                                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                                ExpressionAttributeNames=names, ExpressionAttributeValues=values)

    def members(self, org_id: str) -> Iterator[Record]:
        arguments: dict[str, Any] = {"IndexName": "members_by_org", "KeyConditionExpression": Key("member_org").eq(org_id)}
        while True:
            response = self._table.query(**arguments)
            yield from (_member(_plain(item)) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def organisation_ids(self) -> Iterator[str]:
        """A scan of the organisation records only (few; read by the weekly digest)."""
        arguments: dict[str, Any] = {"FilterExpression": Attr("pk").begins_with("ORG#"), "ProjectionExpression": "pk"}
        while True:
            response = self._table.scan(**arguments)
            yield from (item["pk"].removeprefix("ORG#") for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _member(item: Record) -> Record:
    return {k: v for k, v in item.items() if k not in ("pk", "member_org")}


class DynamoIntegrationsRepository:
    def __init__(self, table: Any) -> None:
        self._table = table

    def create(self, record: Integration) -> None:
        try:
            self._table.put_item(Item=record.as_stored(), ConditionExpression="attribute_not_exists(id)")
        except ClientError as exc:
            if _condition_failed(exc):
                raise AlreadyExists(f"integration {record.id} exists") from None
            raise

    def put(self, record: Integration) -> None:
        self._table.put_item(Item=record.as_stored())

    def get(self, integration_id: str) -> Integration | None:
        item = _plain(self._table.get_item(Key={"id": integration_id}).get("Item"))
        return Integration.from_stored(item) if item else None

    def list_by_org(self, org_id: str) -> list[Integration]:
        items = query_all(self._table, IndexName="by_org", KeyConditionExpression=Key("org_id").eq(org_id))
        return [Integration.from_stored(item) for item in items]

    def delete(self, integration_id: str) -> None:
        self._table.delete_item(Key={"id": integration_id})


class DynamoProjectsRepository:
    """Adds the index keys (``sort_key``, ``integration_repository``, ``due_frequency``) on write."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, project_id: str) -> Project | None:
        return _project(self._table.get_item(Key={"id": project_id}).get("Item"))

    def put(self, record: Project) -> None:
        self._table.put_item(Item=project_item(record))

    def update(self, project_id: str, changes: Mapping[str, Any], expect: Mapping[str, Any] | None = None) -> bool:
        """One UpdateItem: SET and REMOVE of the named attributes only, conditional on the
        project existing and on ``expect``; the due index key follows ``next_test_at``."""
        arguments = project_update(project_id, changes, expect or {})
        if arguments is None:
            return self.get(project_id) is not None
        try:
            self._table.update_item(**arguments)
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def delete(self, project_id: str) -> None:
        self._table.delete_item(Key={"id": project_id})

    def mark_viewed(self, project_id: str) -> None:
        self._table.update_item(Key={"id": project_id}, UpdateExpression="SET is_new = :f",
                                ExpressionAttributeValues={":f": False}, ConditionExpression="attribute_exists(id)")

    def list_by_org(self, org_id: str, repository: str | None = None,
                    integration_id: str | None = None) -> list[Project]:
        items = query_all(self._table, **_by_org(org_id, repository, integration_id))
        return [_project(item) for item in items if not repository or item["repository"] == repository]

    def page_by_org(self, org_id: str, limit: int, cursor: str | None = None, repository: str | None = None,
                    integration_id: str | None = None) -> tuple[list[Project], str | None]:
        """One Query of the by_org index at a time (filters read on until the page is full)."""
        arguments = _by_org(org_id, repository, integration_id)
        if cursor:
            sort_key, project_id = decode_cursor(cursor, 2)
            arguments["ExclusiveStartKey"] = {"org_id": org_id, "sort_key": sort_key, "id": project_id}
        found: list[Project] = []
        while True:
            response = self._table.query(**arguments, Limit=limit - len(found) if not (integration_id or repository)
                                         else max(limit, 100))
            for item in response.get("Items", []):
                project = _project(item)
                if project is None or (repository and project.repository != repository):
                    continue
                found.append(project)
                if len(found) == limit:
                    return found, encode_cursor(item["sort_key"], item["id"])
            if "LastEvaluatedKey" not in response:
                return found, None
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def project_ids_by_org(self, org_id: str) -> list[str]:
        items = query_all(self._table, IndexName="by_org", KeyConditionExpression=Key("org_id").eq(org_id),
                          ProjectionExpression="id")
        return sorted(item["id"] for item in items)

    def due(self, frequency: str, until: str) -> list[str]:
        items = query_all(self._table, IndexName="due",
                          KeyConditionExpression=Key("due_frequency").eq(frequency) & Key("next_test_at").lte(until))
        return [item["id"] for item in items]

    def tags_of(self, integration_id: str, repository: str) -> list[tuple[str, str]]:
        items = query_all(self._table, IndexName="by_repository",  # keys only: no record is read
                          KeyConditionExpression=Key("integration_repository").eq(f"{integration_id}#{repository}"))
        return [(item["tag"], item["id"]) for item in items]


_INDEX_KEYS = ("sort_key", "integration_repository", "due_frequency")


def _by_org(org_id: str, repository: str | None, integration_id: str | None) -> dict[str, Any]:
    """The Query of the by_org index for an organisation's projects (``begins_with`` the
    repository also matches longer names: callers keep only the exact one)."""
    condition = Key("org_id").eq(org_id)
    if repository:
        condition &= Key("sort_key").begins_with(f"{repository}#")
    arguments: dict[str, Any] = {"IndexName": "by_org", "KeyConditionExpression": condition}
    if integration_id:
        arguments["FilterExpression"] = Attr("integration_id").eq(integration_id)
    return arguments


def _project(item: dict[str, Any] | None) -> Project | None:
    return Project.from_stored({k: v for k, v in _plain(item).items() if k not in _INDEX_KEYS}) if item else None


def project_item(record: Project) -> dict[str, Any]:
    """The record as stored, with its index keys."""
    item = _to_dynamo(record.as_stored())
    item["sort_key"] = f"{record.repository}#{record.tag}#{record.platform}"
    item["integration_repository"] = f"{record.integration_id}#{record.repository}"
    if record.next_test_at:
        item["due_frequency"] = record.test_frequency  # sparse: only scheduled projects
    return item


def project_update(project_id: str, changes: Mapping[str, Any], expect: Mapping[str, Any]) -> dict[str, Any] | None:
    """The UpdateItem arguments for ``ProjectsRepository.update`` (None: nothing to change)."""
    stored = _to_dynamo(stored_fields(changes))
    if "next_test_at" in stored:
        stored["due_frequency"] = stored.get("test_frequency") if stored["next_test_at"] else None
    expected = stored_fields(expect)
    lenient = frozenset(name for name, value in expected.items() if value is not None and absent_means(name, value))
    arguments = conditional_update(stored, _to_dynamo(expected), "id", lenient)
    return {"Key": {"id": project_id}, **arguments} if arguments is not None else None


def conditional_update(changes: Mapping[str, Any], expect: Mapping[str, Any], key: str,
                       lenient: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """UpdateItem arguments (all but the Key): SET each field of ``changes`` that has a value,
    REMOVE each that is None, on condition that the item exists (its ``key`` attribute) and
    each field of ``expect`` holds its value (None: absent; a ``lenient`` one may also be
    absent: its expected value is what absence reads as). None when nothing changes."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    sets, removes = [], []
    for index, (name, value) in enumerate(changes.items()):
        names[f"#c{index}"] = name
        if value is None:
            removes.append(f"#c{index}")
        else:
            values[f":c{index}"] = value
            sets.append(f"#c{index} = :c{index}")
    conditions = [f"attribute_exists({key})"]
    for index, (name, value) in enumerate(expect.items()):
        names[f"#e{index}"] = name
        if value is None:
            conditions.append(f"attribute_not_exists(#e{index})")
        else:
            values[f":e{index}"] = value
            condition = f"#e{index} = :e{index}"
            conditions.append(f"(attribute_not_exists(#e{index}) OR {condition})" if name in lenient else condition)
    expression = " ".join(part for part in (
        "SET " + ", ".join(sets) if sets else "", "REMOVE " + ", ".join(removes) if removes else "") if part)
    if not expression:
        return None
    arguments: dict[str, Any] = {"UpdateExpression": expression, "ConditionExpression": " AND ".join(conditions),
                                 "ExpressionAttributeNames": names}
    if values:
        arguments["ExpressionAttributeValues"] = values
    return arguments


def _to_dynamo(value: Any) -> Any:
    """Plain JSON values as DynamoDB takes them (floats as Decimal)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(item) for item in value]
    return value


class DynamoImportsRepository:
    def __init__(self, table: Any, client: Any) -> None:
        self._table = table
        self._client = client

    def create(self, job: ImportJob, images: list[str], repositories: list[str] | None = None) -> None:
        expires = int(time.time()) + IMPORT_RETENTION_SECONDS
        try:  # the job first, create-only; then its images (an interrupted create is completed by a retry)
            self._table.put_item(Item={**job.as_stored(), "item": "JOB", "succeeded": 0, "failed": 0,
                                       "expanding": len(repositories or []), "expires_at": expires},
                                 ConditionExpression="attribute_not_exists(import_id)")
        except ClientError as exc:
            if _condition_failed(exc):
                raise AlreadyExists(f"import {job.import_id} exists") from None
            raise
        with self._table.batch_writer() as batch:
            for image in images:
                batch.put_item(Item={"import_id": job.import_id, "item": f"IMAGE#{image}", "image": image,
                                     "status": "pending", "at": job.created_at, "expires_at": expires})
            for repository in repositories or []:
                batch.put_item(Item={"import_id": job.import_id, "item": f"EXPAND#{repository}", "status": "pending",
                                     "expires_at": expires})

    def expand(self, import_id: str, repository: str, images: list[str]) -> bool:
        """The images first, each only if absent (a retry after a crash finds some written and
        leaves them); then, in one transaction, the repository marked done and the job's total
        and ``expanding`` moved. The repository's images are all new to the job (whole
        repositories leave out their explicitly chosen tags), so the total grows by all of them."""
        marker = self._table.get_item(Key={"import_id": import_id, "item": f"EXPAND#{repository}"},
                                      ConsistentRead=True).get("Item")
        if marker is None or marker.get("status") != "pending":
            return False  # not a repository of this import, or expanded already
        expires = int(time.time()) + IMPORT_RETENTION_SECONDS
        at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        unique = sorted(set(images))
        for image in unique:
            try:
                self._table.put_item(Item={"import_id": import_id, "item": f"IMAGE#{image}", "image": image,
                                           "status": "pending", "at": at, "expires_at": expires},
                                     ConditionExpression="attribute_not_exists(import_id)")
            except ClientError as exc:
                if not _condition_failed(exc):
                    raise
        try:
            self._client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._table.name,
                            "Key": {"import_id": {"S": import_id}, "item": {"S": f"EXPAND#{repository}"}},
                            "UpdateExpression": "SET #s = :done", "ConditionExpression": "#s = :pending",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {":done": {"S": "done"}, ":pending": {"S": "pending"}}}},
                {"Update": {"TableName": self._table.name,
                            "Key": {"import_id": {"S": import_id}, "item": {"S": "JOB"}},
                            "UpdateExpression": "ADD #t :added, expanding :minus",
                            "ExpressionAttributeNames": {"#t": "total"},
                            "ExpressionAttributeValues": {":added": {"N": str(len(unique))}, ":minus": {"N": "-1"}}}},
            ])
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def complete(self, import_id: str, image: str, outcome: ImageOutcome) -> bool:
        values: dict[str, Any] = {":pending": {"S": "pending"}, ":status": {"S": outcome.status},
                                  ":at": {"S": outcome.at}}
        expression = "SET #s = :status, #at = :at"
        names = {"#s": "status", "#at": "at"}
        if outcome.project_id:
            expression += ", project_id = :project"
            values[":project"] = {"S": outcome.project_id}
        if outcome.project_ids:
            expression += ", project_ids = :projects"
            values[":projects"] = {"L": [{"S": pid} for pid in outcome.project_ids]}
        if outcome.error:
            expression += ", #e = :error"
            names["#e"] = "error"
            values[":error"] = {"S": outcome.error}
        counter = "succeeded" if outcome.status == "succeeded" else "failed"
        try:
            self._client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._table.name,
                            "Key": {"import_id": {"S": import_id}, "item": {"S": f"IMAGE#{image}"}},
                            "UpdateExpression": expression, "ConditionExpression": "#s = :pending",
                            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}},
                {"Update": {"TableName": self._table.name,
                            "Key": {"import_id": {"S": import_id}, "item": {"S": "JOB"}},
                            "UpdateExpression": f"ADD {counter} :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            ])
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def image_status(self, import_id: str, image: str) -> str | None:
        item = _plain(self._table.get_item(Key={"import_id": import_id, "item": f"IMAGE#{image}"}).get("Item"))
        return item["status"] if item else None

    def get_job(self, import_id: str) -> ImportJob | None:
        item = _plain(self._table.get_item(Key={"import_id": import_id, "item": "JOB"}).get("Item"))
        return ImportJob.model_validate(item) if item else None

    def images(self, import_id: str) -> list[ImportedImage]:
        items = query_all(self._table, KeyConditionExpression="import_id = :i AND begins_with(#k, :p)",
                          ExpressionAttributeNames={"#k": "item"},
                          ExpressionAttributeValues={":i": import_id, ":p": "IMAGE#"})
        return [ImportedImage.model_validate(item) for item in sorted(items, key=lambda i: i["image"])]


    def list_by_org(self, org_id: str, limit: int, cursor: str | None = None) -> tuple[list[ImportJob], str | None]:
        arguments: dict[str, Any] = {"IndexName": "by_org", "KeyConditionExpression": Key("org_id").eq(org_id),
                                     "ScanIndexForward": False, "Limit": limit}
        if cursor:
            arguments["ExclusiveStartKey"] = dict(zip(_KEY_FIELDS, decode_cursor(cursor, len(_KEY_FIELDS)), strict=True))
        response = self._table.query(**arguments)
        jobs = [ImportJob.model_validate(_plain(item)) for item in response["Items"]]
        last = response.get("LastEvaluatedKey")
        return jobs, (encode_cursor(*(str(last[f]) for f in _KEY_FIELDS)) if last and len(jobs) == limit else None)

    def claim_push(self, integration_id: str, image: str, import_id: str, now: float, hold_seconds: int) -> str:
        key = {"import_id": f"PUSH#{integration_id}#{image}", "item": "CLAIM"}
        try:
            self._table.put_item(
                Item={**key, "holder": import_id, "claim_expires": Decimal(str(now + hold_seconds)),
                      "expires_at": int(now) + hold_seconds + 3600},
                ConditionExpression="attribute_not_exists(import_id) OR claim_expires <= :now",
                ExpressionAttributeValues={":now": Decimal(str(now))})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            held = _plain(self._table.get_item(Key=key, ConsistentRead=True).get("Item"))
            return held["holder"] if held else import_id
        return import_id

    def release_push(self, integration_id: str, image: str, import_id: str) -> None:
        try:
            self._table.delete_item(Key={"import_id": f"PUSH#{integration_id}#{image}", "item": "CLAIM"},
                                    ConditionExpression="holder = :me", ExpressionAttributeValues={":me": import_id})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def count_push(self, integration_id: str, window_start: int) -> int:
        response = self._table.update_item(
            Key={"import_id": f"PUSHRATE#{integration_id}", "item": f"WINDOW#{window_start}"},
            UpdateExpression="ADD hits :one SET expires_at = :expires",
            ExpressionAttributeValues={":one": 1, ":expires": window_start + 3600}, ReturnValues="UPDATED_NEW")
        return int(response["Attributes"]["hits"])


class DynamoFindingsRepository:
    """``projects_table``: where ``save_test`` writes the project, in the same transaction."""

    def __init__(self, table: Any, projects_table: Any = None) -> None:
        self._table = table
        self._projects_table = projects_table

    def get_latest(self, project_id: str) -> StoredTest | None:
        item = _plain(self._table.get_item(Key={"pk": f"PROJECT#{project_id}", "sk": "LATEST"}).get("Item"))
        if item is None:
            return None
        return StoredTest(tested_at=item["tested_at"], digest=item.get("digest", ""),
                          inventory=bytes(item["inventory"]), findings=bytes(item["findings"]),
                          keys=[k for k in item.get("keys", []) if k != "-"], packages=list(item.get("packages", [])))

    def save_test(self, project_id: str, test: StoredTest, history: Record,
                  project: ProjectWrite | None = None) -> bool:
        """One TransactWriteItems (the project, LATEST, a HISTORY entry), then the package
        index in batches. Until the index is in line, LATEST keeps ``index_from`` (what the
        index may still hold): a test that finds it there redoes the whole index."""
        previous = self._table.get_item(Key={"pk": f"PROJECT#{project_id}", "sk": "LATEST"},
                                        ProjectionExpression="packages, index_from").get("Item") or {}
        old = set(previous.get("packages", []))
        unfinished = "index_from" in previous
        if unfinished:
            old |= set(previous["index_from"])
        new = set(test.packages)
        latest = {"pk": f"PROJECT#{project_id}", "sk": "LATEST", "tested_at": test.tested_at, "digest": test.digest,
                  "inventory": test.inventory, "findings": test.findings,
                  "keys": test.keys or ["-"],  # DynamoDB refuses empty sets; lists are fine, "-" keeps the shape
                  "packages": test.packages}
        if old != new or unfinished:
            latest["index_from"] = sorted(old)
        entry = {"pk": f"PROJECT#{project_id}", "sk": f"HISTORY#{test.tested_at}", **_to_dynamo(history),
                 "expires_at": int(time.time()) + HISTORY_SECONDS}
        writes = [{"Put": {"TableName": self._table.name, "Item": latest}},
                  {"Put": {"TableName": self._table.name, "Item": entry}}]
        if project is not None:
            writes.insert(0, self._project_write(project))
        try:  # the resource's client: it takes and gives plain Python values, like the table
            self._table.meta.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        if "index_from" in latest:
            self._follow_index(project_id, test, new - old if not unfinished else new, old - new)
        return True

    def _project_write(self, write: ProjectWrite) -> dict[str, Any]:
        if self._projects_table is None:
            raise TypeError("DynamoFindingsRepository needs the projects table to record a project's test")
        if write.create is not None:
            return {"Put": {"TableName": self._projects_table.name, "Item": project_item(write.create),
                            "ConditionExpression": "attribute_not_exists(id)"}}
        arguments = project_update(write.project_id, write.changes, write.expect)
        if arguments is None:  # nothing to change: the project must still exist
            return {"ConditionCheck": {"TableName": self._projects_table.name, "Key": {"id": write.project_id},
                                       "ConditionExpression": "attribute_exists(id)"}}
        update = {"TableName": self._projects_table.name, "Key": arguments["Key"],
                  "UpdateExpression": arguments["UpdateExpression"],
                  "ConditionExpression": arguments["ConditionExpression"],
                  "ExpressionAttributeNames": arguments["ExpressionAttributeNames"]}
        if "ExpressionAttributeValues" in arguments:
            update["ExpressionAttributeValues"] = arguments["ExpressionAttributeValues"]
        return {"Update": update}

    def _follow_index(self, project_id: str, test: StoredTest, added: set[str], removed: set[str]) -> None:
        with self._table.batch_writer() as batch:
            for package in sorted(added):
                batch.put_item(Item={"pk": f"PACKAGE#{package}", "sk": f"PROJECT#{project_id}"})
            for package in sorted(removed):
                batch.delete_item(Key={"pk": f"PACKAGE#{package}", "sk": f"PROJECT#{project_id}"})
        try:  # the index is in line: unless a later test has replaced LATEST since
            self._table.update_item(Key={"pk": f"PROJECT#{project_id}", "sk": "LATEST"}, UpdateExpression="REMOVE index_from",
                                    ConditionExpression="tested_at = :t", ExpressionAttributeValues={":t": test.tested_at})
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def history(self, project_id: str) -> list[Record]:
        items = query_all(self._table, KeyConditionExpression="pk = :p AND begins_with(sk, :h)",
                          ExpressionAttributeValues={":p": f"PROJECT#{project_id}", ":h": "HISTORY#"})
        return [{"tested_at": item["sk"].removeprefix("HISTORY#"),
                 **{k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at")}} for item in items]

    def claim_notification(self, project_id: str, fingerprint: str) -> bool:
        try:
            self._table.put_item(
                Item={"pk": f"PROJECT#{project_id}", "sk": f"NOTIFIED#{fingerprint}",
                      "expires_at": int(time.time()) + HISTORY_SECONDS},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def release_notification(self, project_id: str, fingerprint: str) -> None:
        self._table.delete_item(Key={"pk": f"PROJECT#{project_id}", "sk": f"NOTIFIED#{fingerprint}"})

    def projects_with(self, packages: list[str]) -> set[str]:
        found: set[str] = set()
        for package in packages:
            items = query_all(self._table, KeyConditionExpression="pk = :p",
                              ExpressionAttributeValues={":p": f"PACKAGE#{package}"})
            found.update(item["sk"].removeprefix("PROJECT#") for item in items)
        return found

    def delete_project(self, project_id: str) -> None:
        latest = _plain(self._table.get_item(Key={"pk": f"PROJECT#{project_id}", "sk": "LATEST"}).get("Item")) or {}
        items = query_all(self._table, KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": f"PROJECT#{project_id}"}, ProjectionExpression="pk, sk")
        with self._table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            for package in latest.get("packages", []):
                batch.delete_item(Key={"pk": f"PACKAGE#{package}", "sk": f"PROJECT#{project_id}"})
