"""Contract: the secrets vault, the event publisher and the object store (with the published
advisory store on top of it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from quaywatch.advisories.ecosystems import PackageKey
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.published import PublishedAdvisoryStore
from quaywatch.advisories.store import SqliteAdvisoryStore
from quaywatch.ports import DomainEvent, ObjectChanged, SecretNotFound
from quaywatch.runtime.embedded.root import LocalServices
from quaywatch.runtime.settings import RuntimeSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"


def test_secrets_round_trip_update_delete(adapters) -> None:
    vault = adapters.secrets_vault
    reference = vault.create("integration-1", {"token": "s3cret", "oauth_token": None, "ca_bundle": None})
    assert vault.read(reference)["token"] == "s3cret"
    vault.update(reference, {"token": "rotated"})
    assert vault.read(reference) == {"token": "rotated"}
    vault.delete(reference)
    with pytest.raises(SecretNotFound):
        vault.read(reference)
    vault.delete(reference)  # deleting twice is not an error


def test_local_secrets_are_not_stored_in_clear(tmp_path) -> None:
    """Local only: Secrets Manager encrypts at rest itself; the local files can be inspected."""
    services = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work"))
    reference = services.secrets_vault.create("i", {"token": "very-secret-token-value"})
    services.close()
    data = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("quaywatch.db*"))
    assert b"very-secret-token-value" not in data and b"very-secret" not in data
    reopened = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work"))
    assert reopened.secrets_vault.read(reference)["token"] == "very-secret-token-value"  # the key file decrypts it
    reopened.close()
    (tmp_path / "data" / "state.key").write_bytes(b"A" * 43 + b"=")  # another key: refused, not garbage
    stranger = LocalServices(tmp_path / "data", RuntimeSettings(work_dir=tmp_path / "work"))
    with pytest.raises(SecretNotFound, match="cannot be decrypted"):
        stranger.secrets_vault.read(reference)
    stranger.close()


def test_events_reach_subscribers(adapters) -> None:
    adapters.events.publish(DomainEvent("quaywatch.NewIssuesFound", {"project_id": "p1", "count": 2},
                                        "2 new issue(s) in acme/web:1.0", "org-1"))
    (seen,) = adapters.observe_events()
    assert seen.detail["project_id"] == "p1" and seen.org_id == "org-1" and "2 new issue" in seen.summary


def test_objects_versions_and_conditional_download(adapters, tmp_path) -> None:
    objects = adapters.objects
    assert objects.head("a/b.json") is None and objects.get_bytes("a/b.json") is None
    objects.put_bytes("a/b.json", b"{}")
    assert objects.get_bytes("a/b.json") == b"{}"
    source = tmp_path / "one.bin"
    source.write_bytes(b"one" * 1000)
    version = objects.put_file("store.db", source)
    assert objects.head("store.db") == version
    objects.download("store.db", tmp_path / "copy", version)
    assert (tmp_path / "copy").read_bytes() == b"one" * 1000
    source.write_bytes(b"two" * 1001)
    assert objects.put_file("store.db", source) != version
    with pytest.raises(ObjectChanged):
        objects.download("store.db", tmp_path / "stale", version)


def test_published_advisory_store_is_fetched_once_per_version(adapters, tmp_path) -> None:
    writer_copy = tmp_path / "sync" / "advisories.db"
    with SqliteAdvisoryStore(writer_copy) as store:
        import_feed(store, FIXTURES / "debian-osv")
    sync = PublishedAdvisoryStore(adapters.objects, "store/advisories.db", tmp_path / "sync-cache")
    assert sync.open().is_empty()  # nothing published yet: an empty store
    version = sync.publish(writer_copy)
    reader = PublishedAdvisoryStore(adapters.objects, "store/advisories.db", tmp_path / "worker")
    with reader.open() as store:
        assert PackageKey("Debian", "12", "openssl") in store.lookup([PackageKey("Debian", "12", "openssl")])
    assert (tmp_path / "worker" / "advisories.db.etag").read_text() == version
    assert reader.refresh() is False  # unchanged: no download
    with SqliteAdvisoryStore(writer_copy) as store:
        import_feed(store, FIXTURES / "ubuntu-osv")
    sync.publish(writer_copy)
    assert reader.refresh() is True
    with reader.open() as store:
        assert store.lookup([PackageKey("Ubuntu", "22.04", "openssl")])
