"""Each project's latest test, its history, the notified-once claims and the package index,
over a ``FindingsRepository``. The inventory and findings are stored gzip-compressed JSON
(well under DynamoDB's 400 KB item limit for thousands of packages)."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from quaywatch.advisories.ecosystems import PackageKey, image_distro, package_key
from quaywatch.inventory.models import Inventory, from_json, to_json
from quaywatch.matching.models import Finding
from quaywatch.outcome import finding_key
from quaywatch.ports import FindingsRepository, ProjectWrite, StoredTest

MAX_NEW_KEYS_IN_HISTORY = 500


def package_index_key(key: PackageKey) -> str:
    return "#".join(key)


@dataclass
class LatestTest:
    inventory: Inventory
    findings: list[Finding]
    keys: set[str]
    tested_at: str


class FindingsStore:
    def __init__(self, repository: FindingsRepository) -> None:
        self._repository = repository

    def latest(self, project_id: str) -> LatestTest | None:
        stored = self._repository.get_latest(project_id)
        if stored is None:
            return None
        inventory = from_json(gzip.decompress(stored.inventory), Inventory)
        findings = [Finding.model_validate(f) for f in json.loads(gzip.decompress(stored.findings))]
        return LatestTest(inventory, findings, set(stored.keys), stored.tested_at)

    def save(self, project_id: str, inventory: Inventory, findings: list[Finding], new_keys: set[str],
             tested_at: datetime, project: ProjectWrite | None = None) -> bool:
        """The test as the latest, with a history entry, and ``project`` written in the same
        transaction; False (nothing written) when the project write's condition fails."""
        moment = tested_at.isoformat(timespec="milliseconds")  # two tests in one second keep two entries
        stored = StoredTest(
            tested_at=moment, digest=inventory.image.digest,
            inventory=gzip.compress(to_json(inventory), 6),
            findings=gzip.compress(json.dumps([f.model_dump(mode="json") for f in findings]).encode(), 6),
            keys=sorted(finding_key(f) for f in findings),
            packages=sorted({package_index_key(key) for key in package_keys(inventory)}),
        )
        history = {"digest": inventory.image.digest, "findings": len(findings),
                   "new": sorted(new_keys)[:MAX_NEW_KEYS_IN_HISTORY]}
        return self._repository.save_test(project_id, stored, history, project)

    def claim_notification(self, project_id: str, keys: set[str]) -> bool:
        """True once per (project, set of new findings): the caller may notify."""
        return self._repository.claim_notification(project_id, _fingerprint(keys))

    def release_notification(self, project_id: str, keys: set[str]) -> None:
        self._repository.release_notification(project_id, _fingerprint(keys))

    def projects_with(self, keys: set[PackageKey]) -> set[str]:
        return self._repository.projects_with(sorted(package_index_key(key) for key in keys))

    def delete_project(self, project_id: str) -> None:
        self._repository.delete_project(project_id)


def _fingerprint(keys: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


def package_keys(inventory: Inventory) -> set[PackageKey]:
    distro = image_distro(inventory.os)
    keys = set()
    for package in inventory.packages:
        resolved = package_key(package, distro)
        if resolved is not None:
            keys.add(resolved[0])
    return keys
