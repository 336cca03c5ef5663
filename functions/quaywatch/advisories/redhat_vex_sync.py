"""Incremental download of Red Hat's CSAF VEX documents
(``https://security.access.redhat.com/data/csaf/v2/vex/``).

Red Hat publishes one document per CVE (``YYYY/cve-YYYY-NNNN.json``), a dated archive of all of
them (``csaf_vex_YYYY-MM-DD.tar.zst``, named in ``archive_latest.txt``), and two lists of
``"path","time"`` lines: ``changes.csv`` (documents written, newest first) and
``deletions.csv`` (documents removed). The first sync downloads the archive and remembers
its date; every sync then downloads the documents changed since the position it reached,
and writes the deletions since then to a ``deletions.csv`` the loader withdraws. When more
documents changed than ``MAX_CHANGED`` (a sync long missed), the newest archive replaces
them.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import httpx

from quaywatch.advisories.formats.redhat_csaf import listed_documents

MAX_CHANGED = 20_000  # documents one sync fetches one by one; beyond that, the archive again
MAX_LIST_BYTES = 64 << 20  # changes.csv is some tens of MB
_ARCHIVE = re.compile(r"^csaf_vex_(\d{4}-\d{2}-\d{2})\.tar\.zst$")


class RedHatVexError(ValueError):
    """Red Hat's VEX directory did not answer as documented."""


def fetch_redhat_vex(base_url: str, position: dict[str, str] | None, http: httpx.Client, work_dir: Path,
                     deadline: float) -> tuple[list[Path], dict[str, str]]:
    """Download what changed since ``position`` into ``work_dir``; returns (files in import
    order, new position). Raises httpx.HTTPError or RedHatVexError: the caller keeps the old
    position and asks again next time."""
    base = base_url.rstrip("/") + "/"
    if work_dir.exists():
        shutil.rmtree(work_dir)  # what the last sync downloaded is imported already
    changed_dir = work_dir / "changed"
    changed_dir.mkdir(parents=True)
    since = (position or {}).get("since", "")
    files: list[Path] = []
    changes = listed_documents(_text(http, base + "changes.csv"), [])
    newer = [row for row in changes if row[2] > since]
    if not since or len(newer) > MAX_CHANGED:
        archive, day = _archive(http, base, work_dir)
        files.append(archive)
        since = max(since, f"{day}T00:00:00+00:00")
        newer = [row for row in changes if row[2] > since]
    for path, _, _ in sorted(set(newer)):
        if time.monotonic() > deadline:
            raise RedHatVexError("the sync's time ran out while downloading changed VEX documents")
        target = changed_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        _download(http, base + path, target)
    deleted = [row for row in listed_documents(_text(http, base + "deletions.csv"), []) if row[2] > since]
    if deleted:  # read after the documents in the directory: "deletions.csv" sorts after "2024/..."
        (changed_dir / "deletions.csv").write_text("".join(f'"{path}","{at}"\n' for path, _, at in deleted))
    if newer or deleted:
        files.append(changed_dir)  # one import for every changed document
    newest = max([since, *(at for _, _, at in newer), *(at for _, _, at in deleted)])
    return files, {"since": newest}


def _archive(http: httpx.Client, base: str, work_dir: Path) -> tuple[Path, str]:
    name = _text(http, base + "archive_latest.txt").strip()
    match = _ARCHIVE.match(name)
    if match is None:
        raise RedHatVexError(f"archive_latest.txt names {name[:100]!r}, not a csaf_vex_YYYY-MM-DD.tar.zst archive")
    target = work_dir / name
    _download(http, base + name, target)
    return target, match[1]


def _text(http: httpx.Client, url: str) -> str:
    with http.stream("GET", url) as response:
        response.raise_for_status()
        data = bytearray()
        for chunk in response.iter_bytes(1 << 20):
            data += chunk
            if len(data) > MAX_LIST_BYTES:
                raise RedHatVexError(f"{url} is larger than {MAX_LIST_BYTES >> 20} MiB")
    return data.decode("utf-8", errors="replace")


def _download(http: httpx.Client, url: str, target: Path) -> None:
    with http.stream("GET", url) as response:
        response.raise_for_status()
        with open(target, "wb") as out:
            out.writelines(response.iter_bytes(1 << 20))
