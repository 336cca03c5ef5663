"""What a sync does once every repository is in the index: the policy's tags without a
project are imported, and (``remove_missing``) the projects a sync made whose tag is gone
from the registry or no longer wanted are removed. Projects imported by hand or by a push
are never removed; a tag whose sync-made project a user deleted is not imported again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from quaywatch.projects.records import Project
from quaywatch.registrysync.policy import CompiledRule, wanted_tags
from quaywatch.registrysync.records import (
    IndexedTag,
    PlannedImport,
    PlannedRemoval,
    SyncPlan,
    SyncPolicy,
)

MAX_IMAGES_PER_RUN = 10_000


def plan_sync(policy: SyncPolicy, rules: list[CompiledRule], tags: Iterable[IndexedTag], projects: list[Project],
              declined: set[tuple[str, str]], now: datetime, max_images: int = MAX_IMAGES_PER_RUN) -> SyncPlan:
    by_repository: dict[str, list[IndexedTag]] = defaultdict(list)
    for tag in tags:
        by_repository[tag.repository].append(tag)
    wanted: dict[tuple[str, str], str] = {}
    for repository, listed in by_repository.items():
        digests = {t.tag: t.digest for t in listed}
        for name in wanted_tags(rules, repository, listed, now):
            wanted[(repository, name)] = digests[name]
    monitored = {(p.repository, p.tag) for p in projects}
    missing = sorted(key for key in wanted if key not in monitored and key not in declined)
    imports = [PlannedImport(repository=r, tag=t, digest=wanted[(r, t)]) for r, t in missing]
    removals = []
    if policy.remove_missing:
        removals = [PlannedRemoval(project_id=p.id, repository=p.repository, tag=p.tag)
                    for p in sorted(projects, key=lambda p: (p.repository, p.tag, p.platform))
                    if p.imported_by == "sync" and (p.repository, p.tag) not in wanted]
    return SyncPlan(to_import=imports[:max_images], to_remove=removals, left_out=imports[max_images:])
