"""The embedded server: the local services, the gateway, the pollers and the scheduler.

One process owns a data directory at a time (a lock file says so). At start-up the schema is
migrated, messages that were in flight when a previous process died are made visible again
(nothing else can be processing them), and the admin token is created on the first start.

Advisories come from ``--advisories`` paths (re-read when they change on disk) and, with
``--sync-feeds``, from the feed URLs the deployed advisory sync uses (the template's
parameters, each overridable by its ``QUAYWATCH_*`` variable): synced once at start, then on
the template's schedule.
"""

from __future__ import annotations

import errno
import fcntl
import hmac
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from quaywatch.errors import QuaywatchError, UsageError
from quaywatch.handlers import wiring
from quaywatch.observability import logger
from quaywatch.ports import Mailer
from quaywatch.runtime.embedded.feeds import FeedWatcher
from quaywatch.runtime.embedded.functions import Functions
from quaywatch.runtime.embedded.gateway import make_gateway
from quaywatch.runtime.embedded.pollers import Poller, SourceMapping, use_cases
from quaywatch.runtime.embedded.root import LocalServices, upgrade_legacy_data_dir
from quaywatch.runtime.embedded.scheduler import Scheduler, schedules
from quaywatch.runtime.settings import RuntimeSettings
from quaywatch.runtime.template import Template

SYNC_FUNCTION = "AdvisorySyncFunction"


class DataDirectoryInUse(QuaywatchError):
    """Another ``quaywatch serve`` is running on the same data directory."""


def default_data_dir() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "quaywatch" / "server"


@dataclass
class Started:
    url: str
    admin_token: str | None  # set on the first start only (printed once)
    restored: dict[str, int]


class EmbeddedServer:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 8080,
                 advisories: list[Path] | None = None, *, allow_private_registries: bool = True,
                 public_url: str | None = None, workers: int = 4, sync_feeds: bool = False,
                 mailer: Mailer | None = None) -> None:
        """``allow_private_registries``: True on your own machine (the default); False applies
        the deployed stack's policy. ``public_url``: the base of the webhook URLs handed out
        (default ``http://HOST:PORT`` of this server). ``sync_feeds``: download advisory
        feeds as the deployed stack does (else only ``advisories`` paths are read)."""
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.advisories = advisories or []
        self.allow_private_registries = allow_private_registries
        self.public_url = public_url.rstrip("/") if public_url else None
        self.workers = workers  # threads per queue, as Lambda runs several containers on a busy queue
        self.sync_feeds = sync_feeds
        self.mailer = mailer  # none: no mail (email channels are refused)
        self._lock_handle: Any = None

    def start(self) -> Started:
        make_private(self.data_dir)
        self._lock_data_dir()
        allow = "true" if self.allow_private_registries else "false"
        self.template = Template.load(parameters={"AllowPrivateRegistries": allow})
        queues = _queue_receive_limits(self.template)
        self.functions = Functions(self.template)
        try:
            self._gateway = make_gateway(self.host, self.port, self.template, self.functions, self.run_schedule,
                                         lambda: urlsplit(self.url_for_webhooks).netloc, self.metrics_text)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {self.port} on {self.host} is in use (another quaywatch serve?); "
                                 "choose another with --port") from None
            raise
        self.port = self._gateway.server_address[1]
        settings = RuntimeSettings(
            allow_private_registries=self.allow_private_registries, work_dir=self.data_dir / "work",
            max_receives=max(queues.values()), fast_registry_retry=os.environ.get("QUAYWATCH_REGISTRY_RETRY") == "fast",
            public_url=self.url_for_webhooks, console_url=self.url_for_webhooks)
        upgraded = upgrade_legacy_data_dir(self.data_dir, settings, queues)
        self.services = LocalServices(self.data_dir, settings, queues, mailer=self.mailer)
        wiring.install(self.services)
        redelivered = sum(queue.release_in_flight() for queue in self.services.queues.values())
        self.services.prune_expired()
        restored = {**self.services.db.counts(), "redelivered": redelivered, **upgraded}
        token = self._bootstrap_tenancy()
        for superseded in ("advisories.db", "advisories.db-wal", "advisories.db-shm"):  # earlier versions' feed store
            (self.data_dir / superseded).unlink(missing_ok=True)
        self._feed_watcher = None
        if self.advisories:
            self._load_advisories(self.advisories)
            self._feed_watcher = FeedWatcher(self.advisories, self._load_advisories,
                                             float(os.environ.get("QUAYWATCH_FEED_CHECK_SECONDS", "60")))
        handlers = use_cases()
        self._pollers = [Poller(self.services.queues[m.queue], self.services, m, handlers[m.function],
                                concurrency=self.workers) for m in _source_mappings(self.template)]
        if self.sync_feeds:
            _use_template_feeds(self.template)
        entries = [e for e in schedules(self.template) if self.sync_feeds or e.function != SYNC_FUNCTION]
        self.scheduler = Scheduler(entries, lambda entry: self.functions.invoke(entry.function, entry.payload))
        for poller in self._pollers:
            poller.start()
        self.scheduler.start()
        if self._feed_watcher is not None:
            self._feed_watcher.start()
        threading.Thread(target=self._gateway.serve_forever, name="gateway", daemon=True).start()
        if self.sync_feeds:
            threading.Thread(target=self._first_sync, name="feed-sync", daemon=True).start()
        logger.info("embedded server started", extra={"url": self.url, "restored": restored})
        return Started(self.url, token, restored)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url_for_webhooks(self) -> str:
        return self.public_url or self.url

    def stop(self) -> None:
        """Stop taking work and finish the batches in hand; queued messages stay queued."""
        self._gateway.shutdown()
        self._gateway.server_close()
        self.scheduler.stop()
        if self._feed_watcher is not None:
            self._feed_watcher.stop()
        for poller in self._pollers:
            poller.stop()
        self.services.close()
        wiring.install(None)
        if self._lock_handle is not None:
            self._lock_handle.close()
        logger.info("embedded server stopped")

    def metrics_text(self, authorization: str | None) -> tuple[int, Any]:
        """``GET /metrics``: the process's counters in Prometheus' text format. They cover every
        organisation, so only the operator may read them."""
        refused = self._refuse_unless_operator(authorization, "read the metrics")
        if refused is not None:
            return refused
        from quaywatch.metrics import TOTALS

        return 200, TOTALS.prometheus()

    def _refuse_unless_operator(self, authorization: str | None, what: str) -> tuple[int, Any] | None:
        """None for the operator (the server's own admin token, in DIR/admin-token), else the
        refusal to answer."""
        from quaywatch.tenancy.access import AuthenticationFailed

        try:
            principal = self.services.access.authenticate(authorization)
        except AuthenticationFailed as exc:
            return 401, {"error": {"code": "unauthenticated", "message": str(exc)}}
        operator = (self.data_dir / "admin-token").read_text().strip()
        presented = (authorization or "").removeprefix("Bearer ").strip()
        if principal.role != "admin" or not hmac.compare_digest(presented.encode(), operator.encode()):
            return 403, {"error": {"code": "forbidden", "message": f"only the server's operator (its admin token) "
                                                                    f"may {what}"}}
        return None

    def run_schedule(self, name: str, authorization: str | None) -> tuple[int, Any]:
        """Fire a schedule now: the schedules serve every organisation, so only the operator
        (the server's own admin token, in DIR/admin-token) may."""
        refused = self._refuse_unless_operator(authorization, "fire schedules")
        if refused is not None:
            return refused
        try:
            entry = self.scheduler.find(name)
        except KeyError:
            names = ", ".join(e.name for e in self.scheduler.entries)
            return 404, {"error": {"code": "not_found", "message": f"no schedule {name}; schedules: {names}"}}
        result = self.functions.invoke(entry.function, entry.payload)
        return 200, {"schedule": entry.name, "result": result}

    def _lock_data_dir(self) -> None:
        handle = open(self.data_dir / "serve.lock", "w")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DataDirectoryInUse(f"another quaywatch serve is using {self.data_dir}") from None
        self._lock_handle = handle

    def _bootstrap_tenancy(self) -> str | None:
        access = self.services.access
        token_file = self.data_dir / "admin-token"
        org_file = self.data_dir / "org-id"
        wanted = os.environ.get("QUAYWATCH_ADMIN_TOKEN")
        if token_file.exists() and org_file.exists():
            if wanted and not access.knows_token(wanted):
                access.issue_token(org_file.read_text().strip(), "admin", token=wanted)
            return None
        org_id = org_file.read_text().strip() if org_file.exists() else access.create_organisation("default")
        _write_durably(org_file, org_id, 0o600)
        token = access.issue_token(org_id, "admin", token=wanted)
        _write_durably(token_file, token + "\n", 0o600)
        return token

    def _load_advisories(self, paths: list[Path]) -> None:
        """Import feed paths (all at start, then those that changed on disk); the projects
        whose packages changed are re-tested, as the deployed advisory sync does."""
        from quaywatch.usecases.advisories import import_local_feeds

        import_local_feeds(self.services, paths)

    def _first_sync(self) -> None:
        """The feeds at start (unchanged ones cost a 304 each), then the schedule's times."""
        try:
            self.functions.invoke(SYNC_FUNCTION, {})
        except Exception as exc:  # noqa: BLE001 - a failed sync is retried at the schedule's next time
            logger.error("advisory sync at start failed", extra={"error": str(exc)})


def make_private(data_dir: Path) -> None:
    """The data directory 0700 and everything in it 0600 (directories 0700), whatever modes
    an earlier version or the user's umask left: it holds the database (channel URLs, token
    hashes, encrypted credentials), the key and the admin token."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    for root, directories, files in os.walk(data_dir):
        for name in directories:
            os.chmod(os.path.join(root, name), 0o700, follow_symlinks=False)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


def _use_template_feeds(template: Template) -> None:
    """The advisory sync's feed variables as the template sets them (its parameters'
    defaults), unless the environment sets them already: serve reads them as Lambda would."""
    for name, value in template.parameter_variables(SYNC_FUNCTION).items():
        os.environ.setdefault(name, value)


def _write_durably(path: Path, text: str, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _queue_receive_limits(template: Template) -> dict[str, int]:
    """The template's work queues (those with a redrive policy) -> their maxReceiveCount."""
    limits = {}
    for name, resource in template.of_type("AWS::SQS::Queue").items():
        redrive = resource.get("Properties", {}).get("RedrivePolicy")
        if redrive:
            limits[name] = int(redrive["maxReceiveCount"])
    return limits


def _source_mappings(template: Template) -> list[SourceMapping]:
    mappings = []
    for function, resource in template.functions().items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]  # !GetAtt <Queue>.Arn
            mappings.append(SourceMapping(function, queue))
    return mappings
