"""``make demo`` / ``quaywatch demo``: the whole product on this machine.

Starts Debian's docker-registry on 127.0.0.1 behind a Quay-style robot-token service, pushes
sample images built from the fixture trees (Debian-, Alpine- and Python-based, with known
vulnerable packages), starts the embedded server (``quaywatch serve``) with the advisory
data (PyPA OSV, Alpine secdb, hand-written Debian/Ubuntu/RHEL records, and real GitHub
advisories, NVD and CVE JSON 5 records, the KEV entry of Log4Shell and EPSS scores for the
severities and exploit signals: tests/fixtures/advisories/README.md), connects the
registry, imports every repository with a progress bar, prints a summary and the console
URL, and keeps serving until Ctrl-C (``--exit`` stops after the summary, for scripts).

Everything is kept in a data directory it prints (``--data-dir`` or QUAYWATCH_DEMO_DATA_DIR;
default ~/.local/share/quaywatch/demo), reused by the next run: the registry's images, the
server's projects and token, and the mail a local SMTP server received (``mail/*.eml``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

import httpx
from quaywatch.adapters.local.smtp import SmtpMailer, SmtpServer
from quaywatch.matching.levels import RATED_LEVELS as RATED
from quaywatch.observability import logger
from quaywatch.runtime.embedded.server import EmbeddedServer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tests.support import fixtures
from tests.support.images import executable
from tests.support.mailbox import Mailbox
from tests.support.registry_process import find_registry_binary, free_port
from tests.support.shared_data import ADVISORIES
from tests.support.stack import ROBOT, RegistryStack, running_stack

FEEDS = [
    ADVISORIES / "alpine-secdb",
    ADVISORIES / "pypa-osv" / "vulns",
    fixtures.FIXTURES / "advisories" / "debian-osv",
    fixtures.FIXTURES / "advisories" / "debian-tracker",
    fixtures.FIXTURES / "advisories" / "rhel-osv",
    *(fixtures.FIXTURES / "advisories" / "enrichment" / folder for folder in ("ghsa", "nvd", "cve5", "kev", "epss")),
]


def sample_images() -> dict[str, list]:
    app = [fixtures.debian_base(), fixtures.python_layer(), fixtures.npm_layer(), fixtures.java_layer()]
    binary = fixtures.go_binary()
    if binary is not None:
        app.append({"usr/local/bin/hello": executable(binary)})
    return {
        "acme/debian:bookworm": [fixtures.debian_base()],
        "acme/alpine:3.10": [fixtures.alpine_310_base()],
        "acme/alpine:3.19": [fixtures.alpine_base()],
        "acme/alpine:3.10.3": [fixtures.alpine_310_with(musl="1.1.22-r3", openssl="1.1.1d-r0", marker="3.10.3")],
        "acme/ubi:9": [fixtures.ubi_base()],
        "acme/app:1.0": app,
        "acme/web:2.0": [fixtures.alpine_310_base(), {"srv/web/app.py": "print('hello from acme/web')\n"}],
    }


DEMO_ADDRESS = "you@demo.localhost"
WEB_DOCKERFILE = "FROM {host}/acme/alpine:3.10\nCOPY app.py /srv/web/\nCMD [\"python3\", \"/srv/web/app.py\"]\n"


def default_demo_dir() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "quaywatch" / "demo"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quaywatch demo")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--exit", action="store_true", help="stop after the summary instead of serving")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the demo keeps its registry, server data and mail (default "
                        "$QUAYWATCH_DEMO_DATA_DIR or ~/.local/share/quaywatch/demo); reused by the next run")
    options = parser.parse_args(argv)
    data_dir = (options.data_dir or Path(os.environ.get("QUAYWATCH_DEMO_DATA_DIR") or default_demo_dir())).resolve()
    console = Console()
    if "QUAYWATCH_LOG_LEVEL" not in os.environ:
        logger.setLevel("ERROR")  # the sample app carries broken files on purpose; keep the demo readable
    if find_registry_binary() is None:
        console.print("docker-registry is missing: sudo apt-get install docker-registry (or run `make demo`)")
        return 1
    reused = (data_dir / "server").exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"demo data directory: {data_dir}" + (" (reused: projects and settings from the last run)"
                                                         if reused else " (kept for the next run)"), soft_wrap=True)
    with running_stack(data_dir / "registry", port=_registry_port(data_dir)) as stack, \
            Mailbox(folder=data_dir / "mail") as mailbox:
        for ref, layers in sample_images().items():
            repository, tag = ref.split(":")
            stack.pusher.push_image(repository, tag, layers)
        (data_dir / "registry-port").write_text(stack.host.rsplit(":", 1)[1])
        console.print(f"local registry with Quay-style robot auth at {stack.host}; robot {ROBOT.username}")
        port = options.port if _port_free(options.port) else free_port()
        mailer = SmtpMailer(SmtpServer.parse(mailbox.url), "quaywatch@demo.localhost")
        server = EmbeddedServer(data_dir / "server", port=port, advisories=FEEDS, mailer=mailer)
        console.print("starting quaywatch (API, workers and schedules on the local store) and loading the advisory feeds ...")
        started = server.start()
        token = started.admin_token or (data_dir / "server" / "admin-token").read_text().strip()
        try:
            api = httpx.Client(base_url=started.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
            integration_id = _integration(api, stack.host)
            api.put("/me/notifications", json={"email": DEMO_ADDRESS, "level": "all"}).raise_for_status()
            repositories = sorted({ref.split(":")[0] for ref in sample_images()})
            started_import = api.post("/imports", json={"integration_id": integration_id,
                                                        "images": [{"repository": r} for r in repositories]})
            started_import.raise_for_status()
            import_id = started_import.json()["id"]
            with Progress(TextColumn("scanning images"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=console) as progress:
                task = progress.add_task("import", total=None)
                while True:
                    status = api.get(f"/imports/{import_id}").json()
                    progress.update(task, total=status["total"], completed=status["succeeded"] + status["failed"])
                    if status["status"] == "completed":
                        break
                    time.sleep(0.3)
            projects = api.get("/projects").json()
            _summary(console, projects)
            _exploited(console, api, projects)
            _base_image_advice(console, api, projects, integration_id, stack.host)
            _mail(console, api, stack, projects, mailbox, data_dir)
            console.print(f"\n[bold]console:[/bold] {started.url}/   [bold]admin token:[/bold] {token}", soft_wrap=True)
            console.print("the projects not opened yet are marked NEW in the console and the CLI")
            console.print("CLI (paste into a shell):\n"
                          f"  export QUAYWATCH_SERVER={started.url} QUAYWATCH_TOKEN={token}\n"
                          "  quaywatch projects", soft_wrap=True)
            feeds = " ".join(f"--advisories {path}" for path in FEEDS)
            console.print(
                "scan a demo image yourself (the registry's robot and token):\n"
                f"  echo {ROBOT.secret} | quaywatch scan {stack.host}/acme/app:1.0 --plain-http "
                f"--username {ROBOT.username} --token-stdin {feeds}", soft_wrap=True)
            if not options.exit:
                console.print("serving until Ctrl-C ...")
                stopping = threading.Event()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, lambda *_: stopping.set())
                stopping.wait()
        finally:
            server.stop()
    return 0


def _summary(console: Console, projects: dict) -> None:
    table = Table(title="projects", show_edge=False)
    table.add_column("IMAGE", no_wrap=True)
    table.add_column("PLATFORM", no_wrap=True)
    for column in ("ALL", "CRIT", "HIGH", "MED", "LOW", "NEG", "UNK"):  # short: fits 80 columns; UNK = unrated
        table.add_column(column, justify="right")
    for group in projects["repositories"]:
        for project in group["projects"]:
            counts = project["issue_counts"]
            # Feeds such as Alpine's secdb carry no severity: those findings are unrated.
            unrated = counts["unknown"]
            table.add_row(f"{group['name']}:{project['tag']}", project["platform"], str(project["finding_count"]),
                          *(str(counts[level]) for level in RATED), str(unrated))
    console.print(table)


def _project(projects: dict, repository: str, tag: str) -> dict:
    group = next(g for g in projects["repositories"] if g["name"] == repository)
    return next(p for p in group["projects"] if p["tag"] == tag)


def _exploited(console: Console, api: httpx.Client, projects: dict) -> None:
    """Name the known-exploited findings (Log4Shell in acme/app), the ones to fix first. Only
    acme/app is opened: the other projects stay NEW until someone looks at them."""
    for group in projects["repositories"]:
        for project in group["projects"]:
            if (group["name"], project["tag"]) != ("acme/app", "1.0"):
                continue
            for finding in api.get(f"/projects/{project['id']}").json()["findings"]:
                if finding.get("kev"):
                    console.print(f"known exploited: {group['name']}:{project['tag']} {finding['package']} "
                                  f"{finding['installed_version']} {finding['id']} {finding['severity']} "
                                  f"(rated by {finding['severity_source']}, in CISA KEV since {finding['kev_date_added']})",
                                  soft_wrap=True)


def _base_image_advice(console: Console, api: httpx.Client, projects: dict, integration_id: str, host: str) -> None:
    """The organisation builds on acme/alpine; acme/web's Dockerfile says it is FROM
    acme/alpine:3.10, and acme/alpine:3.10.3 fixes what 3.10 has: the re-test the link starts
    finds the base and recommends the patched tag."""
    api.put("/organisation/base-images", json={"sources": [{"integration_id": integration_id,
                                                            "repositories": ["acme/alpine"]}]}).raise_for_status()
    web = _project(projects, "acme/web", "2.0")
    api.put(f"/projects/{web['id']}/dockerfile", json={"content": WEB_DOCKERFILE.format(host=host)}).raise_for_status()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        answer = api.get(f"/projects/{web['id']}/base-image")
        if answer.status_code == 200 and answer.json()["base"]["detected_by"] == "dockerfile" \
                and answer.json()["recommendations"]:
            advice = answer.json()
            best = advice["recommendations"][0]
            console.print(f"base-image advice: acme/web:2.0 is built on {advice['base']['repository']}:"
                          f"{advice['base']['tag']}; {best['repository']}:{best['tag']} has "
                          f"{best['fewer']['critical'] + best['fewer']['high']} fewer critical and high issues",
                          soft_wrap=True)
            return
        time.sleep(0.5)
    console.print("base-image advice: not ready yet (see the acme/web:2.0 project in the console)")


def _integration(api: httpx.Client, host: str) -> str:
    """The demo registry's integration: the one a previous run made when the registry came
    back on its port, else a new one (an earlier one on another port is removed)."""
    url = f"http://{host}"
    for existing in api.get("/integrations").json()["integrations"]:
        if existing["url"] == url:
            return existing["id"]
        api.delete(f"/integrations/{existing['id']}").raise_for_status()
    created = api.post("/integrations", json={"kind": "quay", "url": url, "username": ROBOT.username,
                                              "token": ROBOT.secret})
    created.raise_for_status()
    return created.json()["id"]


def _mail(console: Console, api: httpx.Client, stack: RegistryStack, projects: dict, mailbox: Mailbox, data_dir: Path) -> None:
    """A new build of acme/web:2.0 adds a Python layer: its re-test finds new issues and mails
    them; then the weekly digest, sent now. Both land in the demo's SMTP server."""
    before = len(mailbox.messages)
    web = _project(projects, "acme/web", "2.0")
    layers = [*sample_images()["acme/web:2.0"], fixtures.python_layer()]
    stack.pusher.push_image("acme/web", "2.0", layers)
    tested_before = (api.get(f"/projects/{web['id']}").json().get("last_test") or {}).get("at")
    api.post(f"/projects/{web['id']}/test").raise_for_status()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and \
            (api.get(f"/projects/{web['id']}").json().get("last_test") or {}).get("at") == tested_before:
        time.sleep(0.3)
    expected = before + (0 if _quietly(mailbox, before + 1, 5) is None else 1)  # none on reused data: nothing new
    api.post("/organisation/digest").raise_for_status()
    _quietly(mailbox, expected + 1, 30)
    for message in mailbox.messages[before:]:
        console.print(escape(f"mail to {message['To']}: {message['Subject']}"), soft_wrap=True)
    console.print(f"  (a local SMTP server keeps each message as a file: {data_dir / 'mail'})", soft_wrap=True)


def _quietly(mailbox: Mailbox, count: int, timeout: float) -> list | None:
    """The first ``count`` mails, or None when they did not all come within ``timeout``."""
    try:
        return mailbox.wait_for(count, timeout=timeout)
    except AssertionError:
        return None


def _registry_port(data_dir: Path) -> int:
    """The port the last run's registry had (so its integration still points at it), if free."""
    try:
        port = int((data_dir / "registry-port").read_text())
    except (OSError, ValueError):
        return 0
    return port if _port_free(port) else 0


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: a closed run's port is free
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
