"""start_import / process_import_message: the error taxonomy and exactly-once progress."""

from __future__ import annotations

import pytest
from quaywatch.image.errors import LayerRejectedError
from quaywatch.projects.imports import ImportMessage, MalformedMessage
from quaywatch.registry.errors import NotFoundError, RegistryUnavailableError
from quaywatch.usecases.imports import process_import_message


def _start(services, admin, integration, *tags: str) -> tuple[str, list[str]]:
    import_id = services.imports.start(admin.org_id, integration.id, [("acme/web", tag) for tag in tags])
    bodies = [m.body for m in services.import_queue.receive(10, visibility_timeout=60)]
    return import_id, bodies


def _status(services, admin, import_id) -> tuple[int, int, int]:
    status = services.imports.status(admin, import_id)
    return status["total"], status["succeeded"], status["failed"]


def test_success_is_counted_once_and_redelivery_does_not_rescan(services, admin, integration) -> None:
    import_id, (body,) = _start(services, admin, integration, "1.0")
    process_import_message(services, body, receive_count=1)
    process_import_message(services, body, receive_count=2)  # a duplicate delivery
    assert _status(services, admin, import_id) == (1, 1, 0)
    assert services.tester.calls == [("test_image", "acme/web", "1.0")]  # the image was scanned once
    (entry,) = services.imports.log(admin, import_id)
    assert entry["project_id"] == "project-acme/web-1.0"


@pytest.mark.parametrize("error", [NotFoundError("manifest unknown: acme/web:1.0"),
                                   LayerRejectedError("layer sha256:x: entry escapes the root")])
def test_permanent_failures_are_recorded_at_once(services, admin, integration, error) -> None:
    import_id, (body,) = _start(services, admin, integration, "1.0")
    services.tester.script = [error]
    process_import_message(services, body, receive_count=1)  # no exception: the message is done
    assert _status(services, admin, import_id) == (1, 0, 1)
    assert services.imports.log(admin, import_id)[0]["error"] == str(error)


def test_transient_failures_are_retried_then_recorded_on_the_last_delivery(services, admin, integration) -> None:
    import_id, (body,) = _start(services, admin, integration, "1.0")
    services.tester.script = [RegistryUnavailableError("503 from the registry")] * 3
    for receive in (1, 2):
        with pytest.raises(RegistryUnavailableError):
            process_import_message(services, body, receive_count=receive)
        assert _status(services, admin, import_id) == (1, 0, 0)  # still running: the queue retries
    with pytest.raises(RegistryUnavailableError):
        process_import_message(services, body, receive_count=3)  # max_receives: logged, then dead-lettered
    assert _status(services, admin, import_id) == (1, 0, 1)
    assert "gave up after 3 attempts" in services.imports.log(admin, import_id)[0]["error"]


def test_unexpected_errors_are_treated_as_transient(services, admin, integration) -> None:
    import_id, (body,) = _start(services, admin, integration, "1.0")
    services.tester.script = [OSError("disk full")]
    with pytest.raises(OSError):
        process_import_message(services, body, receive_count=1)
    assert _status(services, admin, import_id) == (1, 0, 0)


def test_deleted_integration_fails_the_image(services, admin, integration) -> None:
    import_id, (body,) = _start(services, admin, integration, "1.0")
    services.integrations_repository.delete(integration.id)
    process_import_message(services, body, receive_count=1)
    assert services.imports.log(admin, import_id)[0]["error"] == "the integration was deleted"
    assert services.tester.calls == []


def test_a_message_from_another_organisation_is_refused(services, admin, integration) -> None:
    import_id, (body,) = _start(services, admin, integration, "1.0")
    forged = ImportMessage.from_json(body)
    forged = ImportMessage(forged.import_id, "other-org", forged.integration_id, forged.repository, forged.tag)
    process_import_message(services, forged.to_json(), receive_count=1)
    assert services.tester.calls == [] and _status(services, admin, import_id) == (1, 0, 1)


def test_malformed_message_is_permanent(services) -> None:
    with pytest.raises(MalformedMessage):
        ImportMessage.from_json('{"import_id": 1}')


def test_history_lists_imports_started_in_the_same_instant_newest_first(services, admin, integration,
                                                                         monkeypatch) -> None:
    """A script importing tag after tag starts several jobs within one clock tick; the history
    must still list them newest first (the id breaks the tie of equal timestamps)."""
    import quaywatch.projects.imports as imports_module

    monkeypatch.setattr(imports_module, "_now", lambda: "2026-12-02T10:00:00.000+00:00")
    started = [services.imports.start(admin.org_id, integration.id, [("acme/web", str(n))]) for n in range(12)]
    listed: list[str] = []
    cursor = None
    while True:
        page, cursor = services.imports.history(admin, 5, cursor)
        listed += [entry["id"] for entry in page]
        if cursor is None:
            break
    assert listed == started[::-1]
