"""The advisory store: affected packages indexed by (ecosystem, release, package).

One interface, ``AdvisoryStore``; one implementation, SQLite, used two ways: a local file
for the CLI and the embedded mode, and in Lambda a database file published to S3 and cached
in ``/tmp`` (see ``s3_store.py``). Matching looks up only the packages an image contains, so
its cost grows with the image, not the feed. Every import records which keys it changed, so
the projects that contain them can be re-tested.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

from pydantic import TypeAdapter

from quaywatch.advisories.ecosystems import PackageKey
from quaywatch.advisories.models import (
    Advisory,
    AffectedPackage,
    ExploitPrediction,
    KnownExploited,
    Rating,
    Severity,
)
from quaywatch.errors import QuaywatchError

SCHEMA_VERSION = 3  # 2: ratings, exploit signals and the alias index; 3: Red Hat's repository-to-CPE mapping
# (older files are upgraded in place: the schema script creates the new tables empty)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS advisories (
    source TEXT NOT NULL, id TEXT NOT NULL, aliases TEXT NOT NULL, summary TEXT,
    published TEXT, modified TEXT, severities TEXT NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (source, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS affected (
    source TEXT NOT NULL, advisory_id TEXT NOT NULL, partition TEXT NOT NULL,
    ecosystem TEXT NOT NULL, release TEXT NOT NULL, package TEXT NOT NULL,
    digest TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (source, advisory_id, partition, ecosystem, release, package)
) WITHOUT ROWID;
DROP INDEX IF EXISTS affected_by_package;
-- Covers a match's first read (the primary key's columns ride along in a WITHOUT ROWID
-- table's index): which advisories name a package, and the digest of each one's entries.
CREATE INDEX IF NOT EXISTS affected_by_package_digest ON affected (ecosystem, release, package, digest);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, location TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT, records INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0,
    changed_keys INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT NOT NULL, source TEXT NOT NULL, advisory_id TEXT NOT NULL,
    PRIMARY KEY (alias, source, advisory_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_by_advisory ON aliases (source, advisory_id);
CREATE TABLE IF NOT EXISTS ratings (
    vulnerability TEXT NOT NULL, source TEXT NOT NULL, digest TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (vulnerability, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS known_exploited (vulnerability TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS predictions (
    vulnerability TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL, date TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repository_cpes (repository TEXT PRIMARY KEY, cpes TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    import_id INTEGER NOT NULL, ecosystem TEXT NOT NULL, release TEXT NOT NULL, package TEXT NOT NULL,
    PRIMARY KEY (import_id, ecosystem, release, package)
) WITHOUT ROWID;
"""


CVE_ID = re.compile(r"^CVE-\d{4}-\d+$")  # what NVD, CVE records, KEV and EPSS are keyed by


class StoreError(QuaywatchError):
    """The advisory store cannot be opened or is from an incompatible version."""


@dataclass(frozen=True)
class AdvisoryMeta:
    source: str
    id: str
    aliases: list[str]
    summary: str | None
    published: str | None
    modified: str | None
    severities: list[Severity]

    @cached_property
    def cve(self) -> str | None:
        """The one CVE this advisory is (or aliases), None when it names none or several:
        what findings are grouped by. Kept with the (cached) metadata: computed once."""
        if CVE_ID.match(self.id):
            return self.id
        cves = {alias for alias in self.aliases if CVE_ID.match(alias)}
        return cves.pop() if len(cves) == 1 else None


@dataclass(frozen=True)
class StoredAffected:
    """The affected entries one advisory has for one package key."""

    source: str
    advisory_id: str
    entries: list[AffectedPackage]
    digest: str = ""  # of the entries' content: equal digests, equal entries


@dataclass
class EcosystemStatus:
    ecosystem: str
    records: int
    newest_modified: str | None


@dataclass
class ImportResult:
    import_id: int
    records: int = 0
    skipped: int = 0
    changed: set[PackageKey] = field(default_factory=set)


@dataclass(frozen=True)
class ExploitSignals:
    """What is known of a vulnerability's exploitation."""

    known_exploited: KnownExploited | None = None
    prediction: ExploitPrediction | None = None


class AdvisoryStore(Protocol):
    def lookup(self, keys: Iterable[PackageKey]) -> dict[PackageKey, list[StoredAffected]]: ...

    def advisories(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], AdvisoryMeta]: ...

    def ratings(self, vulnerabilities: Iterable[str]) -> dict[str, list[Rating]]: ...

    def exploit_signals(self, vulnerabilities: Iterable[str]) -> dict[str, ExploitSignals]: ...

    def status(self) -> list[EcosystemStatus]: ...

    def repository_cpes(self, repositories: Iterable[str]) -> dict[str, list[str]]: ...


_ENTRIES = TypeAdapter(list[AffectedPackage])


_PARSED_LIMIT = 50_000
_parsed: dict[str, tuple[AffectedPackage, ...]] = {}  # entries by content digest, shared by every store


def _parse_entries(digest: str, data: str) -> tuple[AffectedPackage, ...]:
    """Parsed rows, memoised by content digest: a warm matcher reads digests only and finds
    the entries here (parsing them, and reading their JSON, was most of a warm match)."""
    entries = _parsed.get(digest)
    if entries is None:
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()  # a new feed generation: start over rather than track recency per read
        entries = _parsed[digest] = tuple(_ENTRIES.validate_json(data))
    return entries


_metas: dict[tuple[str, str, str], AdvisoryMeta] = {}  # by (source, id, digest of the metadata), shared by every store


def _remember_meta(meta: AdvisoryMeta, digest: str) -> AdvisoryMeta:
    if len(_metas) >= _PARSED_LIMIT:
        _metas.clear()  # a new feed generation: start over rather than track recency per read
    _metas[(meta.source, meta.id, digest)] = meta
    return meta


def _parse_meta(
    source: str, advisory_id: str, digest: str, aliases: str, summary: str | None,
    published: str | None, modified: str | None, severities: str,
) -> AdvisoryMeta:
    return AdvisoryMeta(
        source, advisory_id, json.loads(aliases), summary, published, modified,
        [Severity.model_validate(s) for s in json.loads(severities)],
    )


@lru_cache(maxsize=20_000)
def _parse_rating(digest: str, data: str) -> Rating:
    return Rating.model_validate_json(data)


def _chunks(values: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    wanted = sorted(set(values))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class SqliteAdvisoryStore:
    """The SQLite store. Safe for one writer and concurrent readers (WAL)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the advisory store {self.path}: {exc}") from None
        self._lock = threading.Lock()
        # What matches read, kept while the store is unchanged (see ``_current``).
        self._writes = 0
        self._generation: tuple[int, int] | None = None
        self._looked_up: dict[PackageKey, list[StoredAffected]] = {}
        self._metas_read: dict[tuple[str, str], AdvisoryMeta | None] = {}
        version = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) == 1:
            self._upgrade_from_1()
        elif int(version[0]) == 2:
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            raise StoreError(f"the advisory store {self.path} has schema {version[0]}; expected {SCHEMA_VERSION}")

    def _upgrade_from_1(self) -> None:
        """Version 1 had no alias index: build it from the stored advisories (the new tables
        were created empty by the schema script)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute("SELECT source, id, aliases FROM advisories").fetchall()
            self._db.executemany(
                "INSERT OR IGNORE INTO aliases VALUES (?, ?, ?)",
                [(alias, source, advisory_id) for source, advisory_id, aliases in rows
                 for alias in {advisory_id, *json.loads(aliases)}],
            )
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close, folding the write-ahead log back into the file (one self-contained file
        is what gets published to S3)."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:
            pass  # another connection is reading; the WAL stays until it closes
        self._db.close()

    def __enter__(self) -> SqliteAdvisoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def is_empty(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM affected LIMIT 1").fetchone() is None

    # --- reads -------------------------------------------------------------------------

    def _current(self) -> None:
        """Forget what earlier matches read when the store changed since: SQLite's
        ``data_version`` moves when another connection commits, ``_writes`` when this one
        imports (call with the lock held). A re-test cycle matches thousands of images against
        one unchanged store: the second image with a package reads none of its rows again."""
        generation = (self._db.execute("PRAGMA data_version").fetchone()[0], self._writes)
        if (generation != self._generation or len(self._looked_up) > _PARSED_LIMIT
                or len(self._metas_read) > _PARSED_LIMIT):
            self._generation = generation
            self._looked_up.clear()
            self._metas_read.clear()

    def lookup(self, keys: Iterable[PackageKey]) -> dict[PackageKey, list[StoredAffected]]:
        """The stored entries of each key, in (source, advisory, partition) order: one query per
        ecosystem and release and chunk of package names not read since the store last changed,
        answered from the covering ``affected_by_package_digest`` index (a 500-package image:
        a handful of index-only queries, not 500); the entries' JSON is read only for digests
        not parsed before."""
        by_release: dict[tuple[str, str], list[str]] = {}
        with self._lock:
            self._current()
            wanted = set(keys)
            for ecosystem, release, package in wanted - self._looked_up.keys():
                by_release.setdefault((ecosystem, release), []).append(package)
            for (ecosystem, release), packages in by_release.items():
                for chunk in _chunks(packages):
                    self._read_chunk(ecosystem, release, chunk)
            return {key: self._looked_up[key] for key in wanted if self._looked_up.get(key)}

    def _read_chunk(self, ecosystem: str, release: str, chunk: list[str]) -> None:
        where = f"WHERE ecosystem = ? AND release = ? AND package IN ({_marks(chunk)})"
        rows = self._db.execute(
            f"SELECT package, source, advisory_id, partition, digest FROM affected {where} "
            "ORDER BY package, source, advisory_id, partition", [ecosystem, release, *chunk]).fetchall()
        if any(row[4] not in _parsed for row in rows):
            for digest, data in self._db.execute(f"SELECT digest, data FROM affected {where}",
                                                 [ecosystem, release, *chunk]):
                _parse_entries(digest, data)
        for package in chunk:
            self._looked_up[PackageKey(ecosystem, release, package)] = []  # none: remembered too
        for package, source, advisory_id, _, digest in rows:
            entries = _parsed.get(digest) or self._entries(digest)
            self._looked_up[PackageKey(ecosystem, release, package)].append(
                StoredAffected(source, advisory_id, list(entries), digest))

    def _entries(self, digest: str) -> tuple[AffectedPackage, ...]:
        """The entries of one digest, read again (the memo was cleared while a match read)."""
        row = self._db.execute("SELECT data FROM affected WHERE digest = ? LIMIT 1", (digest,)).fetchone()
        return _parse_entries(digest, row[0]) if row else ()

    def advisories(self, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], AdvisoryMeta]:
        """By (source, id): one ``source = ? AND id IN (...)`` query per source and chunk, which
        SQLite answers from the primary key (a row-value ``IN (VALUES ...)`` made it scan the
        whole table: 96 ms of a 500-package match against 200,000 advisories)."""
        by_source: dict[str, list[str]] = {}
        with self._lock:
            self._current()
            wanted = set(refs)
            for source, advisory_id in wanted - self._metas_read.keys():
                by_source.setdefault(source, []).append(advisory_id)
            for source, ids in by_source.items():
                for chunk in _chunks(ids):
                    self._read_metas(source, chunk)
            return {ref: meta for ref in wanted if (meta := self._metas_read.get(ref)) is not None}

    def _read_metas(self, source: str, chunk: list[str]) -> None:
        rows = self._db.execute(f"SELECT id, digest FROM advisories WHERE source = ? AND id IN ({_marks(chunk)})",
                                [source, *chunk]).fetchall()
        missing = [advisory_id for advisory_id, digest in rows if (source, advisory_id, digest) not in _metas]
        fresh = {}
        if missing:  # the rest was parsed before (by any store): only digests cross over
            for row in self._db.execute(
                    "SELECT source, id, digest, aliases, summary, published, modified, severities FROM "
                    f"advisories WHERE source = ? AND id IN ({_marks(missing)})", [source, *missing]):
                fresh[row[1]] = _remember_meta(_parse_meta(*row), row[2])
        for advisory_id in chunk:
            self._metas_read[(source, advisory_id)] = None
        for advisory_id, digest in rows:
            self._metas_read[(source, advisory_id)] = fresh.get(advisory_id) or _metas.get((source, advisory_id, digest))

    def ratings(self, vulnerabilities: Iterable[str]) -> dict[str, list[Rating]]:
        """NVD / CNA / ADP ratings by CVE id."""
        result: dict[str, list[Rating]] = {}
        for chunk in _chunks(vulnerabilities):
            query = f"SELECT vulnerability, digest, data FROM ratings WHERE vulnerability IN ({_marks(chunk)})"
            with self._lock:
                rows = self._db.execute(query, chunk).fetchall()
            for vulnerability, digest, data in rows:
                result.setdefault(vulnerability, []).append(_parse_rating(digest, data))
        return result

    def exploit_signals(self, vulnerabilities: Iterable[str]) -> dict[str, ExploitSignals]:
        """KEV entries and EPSS scores by CVE id (only ids with at least one)."""
        known: dict[str, KnownExploited] = {}
        predicted: dict[str, ExploitPrediction] = {}
        for chunk in _chunks(vulnerabilities):
            marks = _marks(chunk)
            with self._lock:
                kev_rows = self._db.execute(
                    f"SELECT vulnerability, data FROM known_exploited WHERE vulnerability IN ({marks})", chunk).fetchall()
                epss_rows = self._db.execute(
                    f"SELECT vulnerability, score, percentile, date FROM predictions WHERE vulnerability IN ({marks})",
                    chunk).fetchall()
            known.update((row[0], KnownExploited.model_validate_json(row[1])) for row in kev_rows)
            predicted.update((row[0], ExploitPrediction(vulnerability=row[0], score=row[1], percentile=row[2],
                                                        date=row[3])) for row in epss_rows)
        return {v: ExploitSignals(known.get(v), predicted.get(v)) for v in known.keys() | predicted.keys()}

    def repository_cpes(self, repositories: Iterable[str]) -> dict[str, list[str]]:
        """Red Hat's product CPEs of each content set (rpm repository) that the mapping knows."""
        result: dict[str, list[str]] = {}
        for chunk in _chunks(repositories):
            with self._lock:
                rows = self._db.execute(
                    f"SELECT repository, cpes FROM repository_cpes WHERE repository IN ({_marks(chunk)})", chunk).fetchall()
            result.update((repository, json.loads(cpes)) for repository, cpes in rows)
        return result

    def status(self) -> list[EcosystemStatus]:
        query = (
            "SELECT a.ecosystem, COUNT(DISTINCT a.source || ' ' || a.advisory_id), MAX(v.modified) "
            "FROM affected a JOIN advisories v ON v.source = a.source AND v.id = a.advisory_id "
            "GROUP BY a.ecosystem ORDER BY a.ecosystem"
        )
        with self._lock:
            return [EcosystemStatus(*row) for row in self._db.execute(query)]

    def signal_status(self) -> list[EcosystemStatus]:
        """Rows for the rating and exploit feeds: ratings by source, KEV entries, EPSS scores."""
        with self._lock:
            rows = [EcosystemStatus(f"ratings: {source}", count, None) for source, count in self._db.execute(
                "SELECT source, COUNT(*) FROM ratings GROUP BY source ORDER BY source")]
            kev = self._db.execute("SELECT COUNT(*) FROM known_exploited").fetchone()[0]
            epss = self._db.execute("SELECT COUNT(*), MAX(date) FROM predictions").fetchone()
            repositories = self._db.execute("SELECT COUNT(*) FROM repository_cpes").fetchone()[0]
        if repositories:
            rows.append(EcosystemStatus("Red Hat repository-to-CPE", repositories, None))
        if kev:
            rows.append(EcosystemStatus("CISA KEV", kev, None))
        if epss[0]:
            rows.append(EcosystemStatus("EPSS scores", epss[0], epss[1]))
        return rows

    def changed_keys(self, import_id: int) -> set[PackageKey]:
        query = "SELECT ecosystem, release, package FROM changes WHERE import_id = ?"
        with self._lock:
            return {PackageKey(*row) for row in self._db.execute(query, (import_id,))}

    def last_import_id(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MAX(id) FROM imports").fetchone()
        return row[0] if row else None

    # --- writes ------------------------------------------------------------------------

    @contextmanager
    def importing(self, location: str) -> Iterator[ImportSession]:
        """A transaction that writes advisories and records the keys they change."""
        with self._lock:
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(
                    "INSERT INTO imports (location, started_at) VALUES (?, ?)", (location, _now())
                )
                session = ImportSession(cursor, cursor.lastrowid or 0)
                yield session
                session.finish()
                cursor.execute("COMMIT")
                self._writes += 1  # what matches read before is stale now
            except BaseException:
                cursor.execute("ROLLBACK")
                raise


class ImportSession:
    """Applies advisories inside one import transaction (see ``SqliteAdvisoryStore.importing``)."""

    def __init__(self, cursor: sqlite3.Cursor, import_id: int) -> None:
        self._cursor = cursor
        self.result = ImportResult(import_id=import_id)
        self._rated: set[str] = set()  # vulnerabilities whose rating or KEV entry changed

    def apply_ratings(self, ratings: Iterable[Rating]) -> None:
        """Insert or replace ratings; a changed one marks the packages its CVE is known for."""
        cursor = self._cursor
        rows = []
        for rating in ratings:
            self.result.records += 1
            data = rating.model_dump_json(exclude_defaults=True)
            digest = _digest(data)
            old = cursor.execute("SELECT digest FROM ratings WHERE vulnerability = ? AND source = ?",
                                 (rating.vulnerability, rating.source)).fetchone()
            if old is None or old[0] != digest:
                rows.append((rating.vulnerability, rating.source, digest, data))
                self._rated.add(rating.vulnerability)
        cursor.executemany("INSERT OR REPLACE INTO ratings VALUES (?, ?, ?, ?)", rows)

    def apply_known_exploited(self, entries: Iterable[KnownExploited], complete: bool) -> None:
        """Add KEV entries; a ``complete`` catalog also removes the entries it no longer lists."""
        cursor = self._cursor
        current = {row[0]: row[1] for row in cursor.execute("SELECT vulnerability, data FROM known_exploited")}
        listed = set()
        for entry in entries:
            self.result.records += 1
            data = entry.model_dump_json(exclude_defaults=True)
            listed.add(entry.vulnerability)
            if not complete and entry.vulnerability in current:
                continue  # NVD's copy of a KEV entry never overwrites the catalog's own
            if current.get(entry.vulnerability) != data:
                cursor.execute("INSERT OR REPLACE INTO known_exploited VALUES (?, ?)", (entry.vulnerability, data))
                self._rated.add(entry.vulnerability)
        if complete:
            gone = sorted(set(current) - listed)
            cursor.executemany("DELETE FROM known_exploited WHERE vulnerability = ?", [(v,) for v in gone])
            self._rated.update(gone)

    def apply_predictions(self, scores: Iterable[ExploitPrediction]) -> None:
        """Replace the EPSS scores. Scores move a little every day for every CVE, so they do
        not mark packages changed: a project shows new scores at its next test."""
        cursor = self._cursor
        cursor.execute("DELETE FROM predictions")
        rows = [(s.vulnerability, s.score, s.percentile, s.date) for s in scores]
        self.result.records += len(rows)
        cursor.executemany("INSERT OR REPLACE INTO predictions VALUES (?, ?, ?, ?)", rows)

    def apply_repository_cpes(self, mapping: dict[str, list[str]]) -> None:
        """Replace Red Hat's repository-to-CPE mapping (the file is always complete). A new
        mapping changes no package key: images show it at their next test."""
        self._cursor.execute("DELETE FROM repository_cpes")
        self._cursor.executemany("INSERT INTO repository_cpes VALUES (?, ?)",
                                 [(repository, json.dumps(cpes)) for repository, cpes in mapping.items()])
        self.result.records += len(mapping)

    def skip(self, count: int = 1) -> None:
        self.result.skipped += count

    def apply(self, advisory: Advisory) -> None:
        """Insert, replace or (when withdrawn) delete one advisory's slice."""
        cursor = self._cursor
        self.result.records += 1
        existing = {
            (eco, rel, pkg): digest
            for eco, rel, pkg, digest in cursor.execute(
                "SELECT ecosystem, release, package, digest FROM affected "
                "WHERE source = ? AND advisory_id = ? AND partition = ?",
                (advisory.source, advisory.id, advisory.partition),
            )
        }
        grouped: dict[tuple[str, str, str], list[dict]] = {}
        if advisory.withdrawn is None:
            for entry in advisory.affected:
                grouped.setdefault((entry.ecosystem, entry.release, entry.name), []).append(
                    entry.model_dump(exclude_defaults=True, mode="json")
                )
        meta = json.dumps(
            [advisory.aliases, advisory.summary, advisory.published, advisory.modified,
             [s.model_dump() for s in advisory.severities]],
            separators=(",", ":"),
        )
        meta_digest = _digest(meta)
        old_meta = cursor.execute(
            "SELECT digest FROM advisories WHERE source = ? AND id = ?", (advisory.source, advisory.id)
        ).fetchone()
        meta_changed = old_meta is None or old_meta[0] != meta_digest
        changed = self.result.changed
        rows = []
        for key, entries in grouped.items():
            data = json.dumps(entries, separators=(",", ":"), sort_keys=True)
            digest = _digest(data)
            if existing.pop(key, None) != digest or meta_changed:
                changed.add(PackageKey(*key))
                rows.append((advisory.source, advisory.id, advisory.partition, *key, digest, data))
        if rows:
            cursor.executemany("INSERT OR REPLACE INTO affected VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        for key in existing:  # no longer affected (or the advisory was withdrawn)
            changed.add(PackageKey(*key))
            cursor.execute(
                "DELETE FROM affected WHERE source = ? AND advisory_id = ? AND partition = ? "
                "AND ecosystem = ? AND release = ? AND package = ?",
                (advisory.source, advisory.id, advisory.partition, *key),
            )
        if meta_changed:
            cursor.execute("DELETE FROM aliases WHERE source = ? AND advisory_id = ?", (advisory.source, advisory.id))
            cursor.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?, ?)",
                               [(alias, advisory.source, advisory.id) for alias in {advisory.id, *advisory.aliases}])
            cursor.execute(
                "INSERT OR REPLACE INTO advisories VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (advisory.source, advisory.id, json.dumps(advisory.aliases), advisory.summary,
                 advisory.published, advisory.modified,
                 json.dumps([s.model_dump() for s in advisory.severities]), meta_digest),
            )

    def finish(self) -> None:
        result = self.result
        for chunk in _chunks(self._rated):
            result.changed.update(PackageKey(*row) for row in self._cursor.execute(
                "SELECT DISTINCT a.ecosystem, a.release, a.package FROM aliases x JOIN affected a "
                f"ON a.source = x.source AND a.advisory_id = x.advisory_id WHERE x.alias IN ({_marks(chunk)})", chunk))
        self._cursor.executemany(
            "INSERT OR IGNORE INTO changes VALUES (?, ?, ?, ?)",
            [(result.import_id, *key) for key in result.changed],
        )
        self._cursor.execute(
            "UPDATE imports SET finished_at = ?, records = ?, skipped = ?, changed_keys = ? WHERE id = ?",
            (_now(), result.records, result.skipped, len(result.changed), result.import_id),
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
