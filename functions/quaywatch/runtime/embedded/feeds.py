"""``serve --advisories PATH``: notice when a feed changes on disk and import it again.

A feed is a file or a directory tree; its fingerprint is the (path, size, mtime) of every
feed file in it, so a nightly download that replaces files, adds or removes one is seen at
the next check (every ``interval`` seconds; one minute by default). Only the paths whose
fingerprint changed are imported again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from quaywatch.advisories.loader import fingerprint
from quaywatch.observability import logger


class FeedWatcher:
    """A daemon thread comparing fingerprints; ``on_change`` gets the changed paths."""

    def __init__(self, paths: list[Path], on_change: Callable[[list[Path]], object], interval: float = 60.0) -> None:
        self.paths = paths
        self.interval = interval
        self._on_change = on_change
        self._seen = {path: fingerprint(path) for path in paths}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def check(self) -> list[Path]:
        """One round: import the changed feeds; their new fingerprints count only once imported."""
        now = {path: fingerprint(path) for path in self.paths}
        changed = [path for path in self.paths if now[path] != self._seen[path]]
        if changed:
            logger.info("advisory feeds changed on disk", extra={"paths": [str(p) for p in changed]})
            self._on_change(changed)
            self._seen.update({path: now[path] for path in changed})
        return changed

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a feed half-written or unreadable now: try again next round
                logger.exception("advisory feed re-import failed; retried at the next check")
