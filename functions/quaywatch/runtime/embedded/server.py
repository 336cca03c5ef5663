"""The embedded server: local AWS, provisioning, state, gateway, pollers, scheduler."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from quaywatch.observability import logger
from quaywatch.runtime import aws
from quaywatch.runtime.embedded.functions import Functions
from quaywatch.runtime.embedded.gateway import make_gateway
from quaywatch.runtime.embedded.pollers import Poller, SourceMapping
from quaywatch.runtime.embedded.scheduler import Scheduler, schedules
from quaywatch.runtime.embedded.state import StateStore
from quaywatch.runtime.provision import provision
from quaywatch.runtime.template import Template

REGION = "us-east-1"
SNAPSHOT_SECONDS = 15


def default_data_dir() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "quaywatch" / "server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Started:
    url: str
    admin_token: str | None  # set on the first start only (printed once)
    restored: dict[str, int]


class EmbeddedServer:
    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 8080,
                 advisories: list[Path] | None = None) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.advisories = advisories or []
        self._stop = threading.Event()
        self._snapshots: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Started:
        from moto.server import ThreadedMotoServer

        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
        aws_port = free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=aws_port, verbose=False)
        self._moto.start()
        os.environ.update({
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}", "AWS_ACCESS_KEY_ID": "embedded",
            "AWS_SECRET_ACCESS_KEY": "embedded", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        })
        aws.reset()
        self.session = boto3.Session(region_name=REGION)
        self.template = Template.load(parameters={"AllowPrivateRegistries": "true"})  # the user's own machine
        self.physical = provision(self.template, self.session, stack="quaywatch")
        for function in self.template.functions():
            os.environ.update(self.template.function_environment(function, self.physical))
        os.environ["QUAYWATCH_WORK_DIR"] = str(self.data_dir / "work")
        self.state = StateStore(self.data_dir)
        restored = self.state.restore(self.session, self.physical)
        token = self._bootstrap_tenancy()
        if self.advisories:
            self._load_advisories()
        self.functions = Functions(self.template)
        self._pollers = [Poller(self.session.client("sqs"), self.functions, mapping, REGION)
                         for mapping in self._source_mappings()]
        self.scheduler = Scheduler(schedules(self.template), lambda entry: self.functions.invoke(entry.function, entry.payload))
        self._gateway = make_gateway(self.host, self.port, self.template, self.functions, self.run_schedule)
        self.port = self._gateway.server_address[1]
        for poller in self._pollers:
            poller.start()
        self.scheduler.start()
        threading.Thread(target=self._gateway.serve_forever, name="gateway", daemon=True).start()
        self._snapshots = threading.Thread(target=self._snapshot_loop, name="snapshots", daemon=True)
        self._snapshots.start()
        logger.info("embedded server started", extra={"url": self.url, "restored": restored})
        return Started(self.url, token, restored)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop taking work, finish the batches in hand, keep everything (queues included)."""
        self._stop.set()
        self._gateway.shutdown()
        self._gateway.server_close()
        self.scheduler.stop()
        for poller in self._pollers:
            poller.stop()
        if self._snapshots:
            self._snapshots.join(timeout=30)
        with self._lock:
            self.state.save(self.session, self.template, self.physical, include_queues=True)
        self._moto.stop()
        aws.reset()
        logger.info("embedded server stopped")

    def run_schedule(self, name: str, authorization: str | None) -> tuple[int, Any]:
        from quaywatch.tenancy.access import AccessStore, AuthenticationFailed

        try:
            principal = AccessStore(aws.table(self.physical.refs["AccessTable"])).authenticate(authorization)
        except AuthenticationFailed as exc:
            return 401, {"error": {"code": "unauthenticated", "message": str(exc)}}
        if principal.role != "admin":
            return 403, {"error": {"code": "forbidden", "message": "this needs an organisation admin"}}
        try:
            entry = self.scheduler.find(name)
        except KeyError:
            names = ", ".join(e.name for e in self.scheduler.entries)
            return 404, {"error": {"code": "not_found", "message": f"no schedule {name}; schedules: {names}"}}
        result = self.functions.invoke(entry.function, entry.payload)
        return 200, {"schedule": entry.name, "result": result}

    def _snapshot_loop(self) -> None:
        while not self._stop.wait(SNAPSHOT_SECONDS):
            try:
                with self._lock:
                    self.state.save(self.session, self.template, self.physical, include_queues=False)
            except Exception as exc:  # noqa: BLE001 - try again next time
                logger.warning("state snapshot failed", extra={"error": str(exc)})

    def _bootstrap_tenancy(self) -> str | None:
        from quaywatch.tenancy.access import AccessStore, hash_token

        store = AccessStore(aws.table(self.physical.refs["AccessTable"]))
        token_file = self.data_dir / "admin-token"
        wanted = os.environ.get("QUAYWATCH_ADMIN_TOKEN")
        if token_file.exists():
            org_file = self.data_dir / "org-id"
            if wanted and org_file.exists():
                item = aws.table(self.physical.refs["AccessTable"]).get_item(Key={"pk": f"TOKEN#{hash_token(wanted)}"})
                if "Item" not in item:
                    store.issue_token(org_file.read_text().strip(), "admin", token=wanted)
            return None
        org_id = store.create_organisation("default")
        token = store.issue_token(org_id, "admin", token=wanted)
        (self.data_dir / "org-id").write_text(org_id)
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token

    def _load_advisories(self) -> None:
        from quaywatch.advisories.importer import import_feed
        from quaywatch.advisories.s3_store import S3StoreCache
        from quaywatch.advisories.store import SqliteAdvisoryStore

        local = self.data_dir / "advisories.db"
        with SqliteAdvisoryStore(local) as store:
            for path in self.advisories:
                report = import_feed(store, path)
                logger.info("advisories loaded", extra={"path": str(path), "records": report.records,
                                                         "skipped": len(report.bad)})
        S3StoreCache(self.session.client("s3"), self.physical.refs["AdvisoryBucket"],
                     os.environ["QUAYWATCH_ADVISORY_KEY"], self.data_dir / "work").publish(local)

    def _source_mappings(self) -> list[SourceMapping]:
        mappings = []
        for function, resource in self.template.functions().items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "SQS":
                    continue
                arn = self.template.resolve(event["Properties"]["Queue"], self.physical)
                queue = next(name for name, attributes in self.physical.attributes.items() if attributes.get("Arn") == arn)
                mappings.append(SourceMapping(function, self.physical.refs[queue], arn,
                                              int(event["Properties"].get("BatchSize", 10))))
        return mappings
