"""``quaywatch serve`` (a subprocess, as users run it) attacked as issue 17 found it could be:
a stranger's connections must not exhaust its files, a member's Dockerfile must not freeze or
kill it, one slow registry must not hold other clients, and what it answers and writes must
not leak. Each check reads the process from outside: /proc for descriptors and memory, the
HTTP answers, the files' modes."""

from __future__ import annotations

import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from quaywatch.adapters.local.database import POOL_SIZE

from tests.conftest import ROBOT
from tests.support import fixtures
from tests.support.hostile import HOSTILE_DOCKERFILES
from tests.support.misbehaving import StubServer, endless_catalog
from tests.support.registry_process import free_port
from tests.support.served import Served

pytestmark = [pytest.mark.slow]


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def status_of(port: int, request: bytes) -> str:
    """Send one request on a new connection and read the answer's status line."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while b"\r\n" not in received:
            chunk = connection.recv(4096)
            if not chunk:
                break
            received += chunk
        return received.split(b"\r\n", 1)[0].decode("latin-1")


def test_two_thousand_wrong_token_connections_leave_the_descriptors_flat(tmp_path) -> None:
    """The issue's probe, on a server allowed 256 open files: before, every connection kept a
    database connection (two descriptors) and the server answered 500 to everything after
    ~120 of them."""
    served = Served(tmp_path / "data", free_port(), open_files=256)
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        pid = served.process.pid
        bogus = b"GET /projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer qw_bogus\r\nConnection: close\r\n\r\n"
        with ThreadPoolExecutor(16) as pool:  # warm-up, 16 at a time: the pool opens what it will keep
            assert set(pool.map(lambda _: status_of(served.port, bogus), range(400))) == {"HTTP/1.1 401 Unauthorized"}
        time.sleep(0.5)
        before = descriptors(pid)
        statuses = [status_of(served.port, bogus) for _ in range(2000)]
        valid = (f"GET /projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                 "Connection: close\r\n\r\n").encode()
        statuses += [status_of(served.port, valid) for _ in range(200)]
        time.sleep(0.5)  # the last connections' threads end
        after = descriptors(pid)
        assert statuses.count("HTTP/1.1 401 Unauthorized") == 2000 and statuses[-200:] == ["HTTP/1.1 200 OK"] * 200
        # Flat: the old code added two per connection (4,400 here). What may still open is the
        # database pool growing toward its 16 connections (a database file, its WAL and shared
        # memory each) as serve's queue pollers (import, re-test, sync) and schedulers borrow
        # at the same moment as requests: a bound, not a function of the connections made.
        assert after - before <= 3 * POOL_SIZE, (before, after)
        assert httpx.get(f"{served.url}/", timeout=10).status_code == 200
        print(f"open files: {before} before, {after} after 2,200 connections")  # for the closing note (-s)
    finally:
        assert served.stop() == 0


@pytest.fixture
def project(stack, tmp_path) -> Iterator[tuple[Served, str, str]]:
    """A served quaywatch with one imported project: (served, admin token, project id)."""
    stack.pusher.push_image("acme/hostile", "1.0", [fixtures.alpine_310_base()])
    served = Served(tmp_path / "data", free_port())
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        created = served.api("POST", "/integrations", token, {"kind": "quay", "url": f"http://{stack.host}",
                                                              "username": ROBOT.username, "token": ROBOT.secret})
        assert created.status_code == 201, created.text
        started = served.api("POST", "/imports", token, {"integration_id": created.json()["id"],
                                                         "images": [{"repository": "acme/hostile", "tag": "1.0"}]})
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 120
        while served.api("GET", f"/imports/{started.json()['id']}", token).json()["status"] != "completed":
            assert time.monotonic() < deadline, "the import did not finish"
            time.sleep(0.2)
        listed = served.api("GET", "/projects?repository=acme/hostile", token).json()
        yield served, token, listed["repositories"][0]["projects"][0]["id"]
    finally:
        assert served.stop() == 0


class Watcher:
    """Another client asking all the while, on the same function and on another: the
    slowest answer it saw."""

    def __init__(self, url: str, token: str, paths: list[str]) -> None:
        self.slowest = 0.0
        self.answers: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, token, paths), daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self, url: str, token: str, paths: list[str]) -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            while not self._stop.is_set():
                for path in paths:
                    started = time.monotonic()
                    self.answers.append(client.get(path).status_code)
                    self.slowest = max(self.slowest, time.monotonic() - started)
                time.sleep(0.05)


@pytest.mark.registry
def test_hostile_dockerfiles_are_refused_in_seconds_while_others_are_answered(project) -> None:
    served, token, project_id = project
    member = served.api("POST", "/tokens", token, {"role": "member"}).json()["token"]
    results = {}
    with Watcher(served.url, token, [f"/projects/{project_id}", "/integrations"]) as watcher:
        for name, (text, refusal) in HOSTILE_DOCKERFILES.items():
            started = time.monotonic()
            reply = served.api("PUT", f"/projects/{project_id}/dockerfile", member, {"content": text})
            results[name] = (reply.status_code, time.monotonic() - started, reply.json())
    for name, (status, seconds, body) in results.items():
        refusal = HOSTILE_DOCKERFILES[name][1]
        if refusal is None:
            assert status == 200, (name, body)
        else:
            assert status in (400, 413), (name, status, body)
            assert refusal in body["error"]["message"] or status == 413, (name, body)
        assert seconds < 5, (name, seconds)
    assert watcher.answers and set(watcher.answers) == {200}
    assert watcher.slowest < 2, watcher.slowest
    assert peak_memory_mb(served.process.pid) < 400
    print({name: round(seconds, 3) for name, (_, seconds, _) in results.items()},
          f"slowest other answer {watcher.slowest:.3f} s, peak memory {peak_memory_mb(served.process.pid):.0f} MB")


def test_a_registry_that_never_ends_holds_only_its_own_request(tmp_path) -> None:
    endless = StubServer(endless_catalog(delay=0.1))
    served = Served(tmp_path / "data", free_port())
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        reply: list[httpx.Response] = []
        body = {"kind": "quay", "url": endless.url, "username": "acme+robot", "token": "secret"}
        connecting = threading.Thread(target=lambda: reply.append(served.api("POST", "/integrations", token, body)))
        started = time.monotonic()
        with Watcher(served.url, token, ["/integrations", "/organisation/channels", "/openapi.json"]) as watcher:
            connecting.start()
            connecting.join(timeout=60)
        elapsed = time.monotonic() - started
        assert reply and reply[0].status_code == 400, reply and reply[0].text
        assert reply[0].json()["error"]["code"] == "unreachable" and "20 s" in reply[0].json()["error"]["message"]
        assert elapsed < 30 and watcher.slowest < 2, (elapsed, watcher.slowest)
        assert set(watcher.answers) == {200} and len(watcher.answers) > 20
    finally:
        endless.close()
        assert served.stop() == 0


def test_a_catalog_cursor_that_repeats_is_refused_at_once(tmp_path) -> None:
    looping = StubServer(endless_catalog(loop=True))
    served = Served(tmp_path / "data", free_port())
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        reply = served.api("POST", "/integrations", token, {"kind": "quay", "url": looping.url,
                                                            "username": "acme+robot", "token": "secret"})
        assert reply.status_code == 400 and reply.json()["error"]["code"] == "registry_error", reply.text
        assert "links back to a page already read" in reply.json()["error"]["message"]
        assert looping.count("/v2/_catalog") == 2
    finally:
        looping.close()
        assert served.stop() == 0


def test_headers_and_file_modes(tmp_path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "notes.txt").write_text("left by the user\n")
    (data_dir / "notes.txt").chmod(0o644)
    served = Served(data_dir, free_port())
    try:
        token = (data_dir / "admin-token").read_text().strip()
        console = httpx.get(f"{served.url}/", timeout=10)
        policy = console.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert console.headers["X-Content-Type-Options"] == "nosniff" and console.headers["Referrer-Policy"]
        assert console.headers["Server"] == "quaywatch"
        issued = served.api("POST", "/tokens", token, {"role": "member"})
        for answer in (issued, served.api("GET", "/projects", token), served.api("GET", "/organisation/channels", token),
                       httpx.get(f"{served.url}/projects", timeout=10)):
            assert answer.headers["Cache-Control"] == "no-store", answer.request.url
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert "Python" not in answer.headers["Server"]
        assert served.api("PUT", "/organisation/channels", token, {"channels": [
            {"type": "webhook", "url": "https://hooks.example/x"}]}).status_code == 200
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        modes = {str(path.relative_to(data_dir)): stat.S_IMODE(path.stat().st_mode)
                 for path in data_dir.rglob("*") if not path.is_symlink()}
        assert {"quaywatch.db", "quaywatch.db-wal", "state.key", "admin-token", "notes.txt"} <= set(modes)
        wrong = {name: oct(mode) for name, mode in modes.items()
                 if mode != (0o700 if (data_dir / name).is_dir() else 0o600)}
        assert not wrong, wrong
    finally:
        assert served.stop() == 0


def test_the_listen_backlog_is_at_least_128() -> None:
    """Read from the kernel (TCP_INFO of a listening socket carries its backlog in
    tcpi_sacked) on the gateway as serve builds it."""
    from quaywatch.runtime.embedded.functions import Functions
    from quaywatch.runtime.embedded.gateway import make_gateway
    from quaywatch.runtime.template import Template

    template = Template.load()
    gateway = make_gateway("127.0.0.1", 0, template, Functions(template), lambda *_: (200, {}), lambda: "x")
    try:
        info = gateway.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        backlog = struct.unpack_from("I", info, 28)[0]
        assert backlog >= 128
    finally:
        gateway.server_close()


@pytest.mark.registry
def test_the_operator_reads_the_counters_in_prometheus_format(project) -> None:
    """GET /metrics (issue 18): what the import did, for the operator only."""
    served, token, _ = project
    member = served.api("POST", "/tokens", token, {"role": "member"}).json()["token"]
    assert httpx.get(f"{served.url}/metrics", timeout=10).status_code == 401
    assert httpx.get(f"{served.url}/metrics", headers={"Authorization": f"Bearer {member}"}, timeout=10).status_code == 403
    answer = httpx.get(f"{served.url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in answer.text.splitlines() if line and not line.startswith("#")}
    assert values["quaywatch_images_scanned_total"] == 1 and values["quaywatch_tests_total"] == 1
    assert values["quaywatch_import_image_seconds_count"] == 1 and values["quaywatch_scan_seconds_sum"] > 0
    assert values['quaywatch_findings_total{severity="unknown"}'] + values.get(
        'quaywatch_findings_total{severity="high"}', 0) >= 1
    assert "# TYPE quaywatch_scan_seconds summary" in answer.text


def test_idle_connections_cannot_take_every_thread(tmp_path) -> None:
    """A stranger opening connections and sending nothing holds a thread each for 30 s: past
    the cap (QUAYWATCH_MAX_CONNECTIONS, 512 by default; 20 here) the next one is told 503 at
    once, and when the idle ones go, everyone is answered again."""
    served = Served(tmp_path / "data", free_port(), env={"QUAYWATCH_MAX_CONNECTIONS": "20"})
    idle = []
    try:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        for _ in range(20):
            idle.append(socket.create_connection(("127.0.0.1", served.port), timeout=10))
        time.sleep(0.5)  # accepted: each holds its slot
        request = f"GET /projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        assert status_of(served.port, request.encode()) == "HTTP/1.1 503 Service Unavailable"
        for connection in idle:
            connection.close()
        idle.clear()
        deadline = time.monotonic() + 10
        while status_of(served.port, request.encode()) != "HTTP/1.1 200 OK":
            assert time.monotonic() < deadline, "the slots did not come back"
            time.sleep(0.1)
    finally:
        for connection in idle:
            connection.close()
        assert served.stop() == 0
