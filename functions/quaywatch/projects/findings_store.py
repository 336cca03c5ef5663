"""FindingsTable: each project's latest test, its history, and the package index.

Items (pk, sk):
- ``PROJECT#<id>``, ``LATEST``: the inventory and findings of the last test (gzip JSON,
  well under DynamoDB's 400 KB for thousands of packages), the digest, the finding keys;
- ``PROJECT#<id>``, ``HISTORY#<time>``: counts and the new finding keys of each test,
  expiring after 180 days (TTL);
- ``PROJECT#<id>``, ``NOTIFIED#<hash>``: a notification already sent for these new
  findings (a conditional put, so a redelivered re-test never notifies twice);
- ``PACKAGE#<ecosystem>#<release>#<name>``, ``PROJECT#<id>``: which projects contain a
  package, so an advisory change re-tests exactly those.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from quaywatch.advisories.ecosystems import PackageKey, image_distro, package_key
from quaywatch.inventory.models import Inventory, from_json, to_json
from quaywatch.matching.models import Finding
from quaywatch.storage import query_all

HISTORY_SECONDS = 180 * 24 * 3600


def finding_key(finding: Finding) -> str:
    return "|".join((finding.id, finding.package, finding.installed_version, finding.path))


@dataclass
class LatestTest:
    inventory: Inventory
    findings: list[Finding]
    keys: set[str]
    tested_at: str


class FindingsStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def latest(self, project_id: str) -> LatestTest | None:
        item = self._table.get_item(Key={"pk": f"PROJECT#{project_id}", "sk": "LATEST"}).get("Item")
        if item is None:
            return None
        inventory = from_json(gzip.decompress(bytes(item["inventory"])), Inventory)
        findings = [Finding.model_validate(f) for f in json.loads(gzip.decompress(bytes(item["findings"])))]
        return LatestTest(inventory, findings, set(item.get("keys", [])), item["tested_at"])

    def save(self, project_id: str, inventory: Inventory, findings: list[Finding], new_keys: set[str],
             tested_at: datetime) -> None:
        previous = self._table.get_item(Key={"pk": f"PROJECT#{project_id}", "sk": "LATEST"},
                                        ProjectionExpression="packages").get("Item") or {}
        packages = sorted({"#".join(key) for key in package_keys(inventory)})
        self._table.put_item(Item={
            "pk": f"PROJECT#{project_id}", "sk": "LATEST", "tested_at": tested_at.isoformat(timespec="seconds"),
            "digest": inventory.image.digest,
            "inventory": gzip.compress(to_json(inventory), 6),
            "findings": gzip.compress(json.dumps([f.model_dump(mode="json") for f in findings]).encode(), 6),
            "keys": sorted(finding_key(f) for f in findings) or ["-"], "packages": packages,
        })
        self._table.put_item(Item={
            "pk": f"PROJECT#{project_id}", "sk": f"HISTORY#{tested_at.isoformat(timespec='seconds')}",
            "digest": inventory.image.digest, "findings": len(findings), "new": sorted(new_keys)[:500],
            "expires_at": int(time.time()) + HISTORY_SECONDS,
        })
        old = set(previous.get("packages", []))
        with self._table.batch_writer() as batch:
            for package in sorted(set(packages) - old):
                batch.put_item(Item={"pk": f"PACKAGE#{package}", "sk": f"PROJECT#{project_id}"})
            for package in sorted(old - set(packages)):
                batch.delete_item(Key={"pk": f"PACKAGE#{package}", "sk": f"PROJECT#{project_id}"})

    def claim_notification(self, project_id: str, keys: set[str]) -> bool:
        """True once per (project, set of new findings): the caller may notify."""
        digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
        try:
            self._table.put_item(
                Item={"pk": f"PROJECT#{project_id}", "sk": f"NOTIFIED#{digest}", "expires_at": int(time.time()) + HISTORY_SECONDS},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_notification(self, project_id: str, keys: set[str]) -> None:
        digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
        self._table.delete_item(Key={"pk": f"PROJECT#{project_id}", "sk": f"NOTIFIED#{digest}"})

    def projects_with(self, keys: set[PackageKey]) -> set[str]:
        found: set[str] = set()
        for key in keys:
            items = query_all(self._table, KeyConditionExpression="pk = :p",
                              ExpressionAttributeValues={":p": f"PACKAGE#{'#'.join(key)}"})
            found.update(item["sk"].removeprefix("PROJECT#") for item in items)
        return found

    def delete_project(self, project_id: str) -> None:
        latest = self._table.get_item(Key={"pk": f"PROJECT#{project_id}", "sk": "LATEST"}).get("Item") or {}
        items = query_all(self._table, KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": f"PROJECT#{project_id}"}, ProjectionExpression="pk, sk")
        with self._table.batch_writer() as batch:
            for item in items:
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            for package in latest.get("packages", []):
                batch.delete_item(Key={"pk": f"PACKAGE#{package}", "sk": f"PROJECT#{project_id}"})


def package_keys(inventory: Inventory) -> set[PackageKey]:
    distro = image_distro(inventory.os)
    keys = set()
    for package in inventory.packages:
        resolved = package_key(package, distro)
        if resolved is not None:
            keys.add(resolved[0])
    return keys
