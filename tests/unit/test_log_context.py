"""Log keys belong to the thread that set them: ``serve`` runs the import and re-test workers
and the API side by side, and a line of one must not carry another's ids."""

from __future__ import annotations

import threading

from quaywatch.usecases.imports import process_import_message
from quaywatch.usecases.retests import retest_project

from tests.support.cloud import captured_logs


def test_worker_keys_do_not_leak_between_threads(tmp_path) -> None:
    from quaywatch.runtime.embedded.root import LocalServices
    from quaywatch.runtime.settings import RuntimeSettings

    services = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work"))
    import_id = services.imports.start("org", "int-gone", [("acme/web", "1.0")])
    (message,) = services.import_queue.receive(1, visibility_timeout=60)
    started = threading.Event()
    done = threading.Event()

    def importer() -> None:
        process_import_message(services, message.body, 1)  # sets import_id, then logs
        started.set()
        done.wait(5)

    with captured_logs() as lines:
        thread = threading.Thread(target=importer)
        thread.start()
        started.wait(5)
        retest_project(services, '{"project_id": "p-gone", "reason": "schedule:daily"}', 1)
        done.set()
        thread.join()
    retest_lines = [line for line in lines if "p-gone" in line]
    assert retest_lines and not any(import_id in line for line in retest_lines)
    services.close()
