"""The Lambda store: a SQLite file in S3 (moto stands in for S3; nothing real can run here)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from quaywatch.advisories.ecosystems import PackageKey
from quaywatch.advisories.importer import import_feed
from quaywatch.advisories.s3_store import S3StoreCache
from quaywatch.advisories.store import SqliteAdvisoryStore, StoreError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "advisories"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket="feeds", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def test_publish_then_open_in_another_container(s3, tmp_path: Path) -> None:
    writer_copy = tmp_path / "sync" / "advisories.db"
    with SqliteAdvisoryStore(writer_copy) as store:
        import_feed(store, FIXTURES / "debian-osv")
    sync = S3StoreCache(s3, "feeds", "store/advisories.db", tmp_path / "sync-cache")
    etag = sync.publish(writer_copy)

    reader = S3StoreCache(s3, "feeds", "store/advisories.db", tmp_path / "worker")
    with reader.open() as store:
        assert PackageKey("Debian", "12", "openssl") in store.lookup([PackageKey("Debian", "12", "openssl")])
    assert (tmp_path / "worker" / "advisories.db.etag").read_text() == etag
    assert reader.refresh() is False  # unchanged ETag: no download

    with SqliteAdvisoryStore(writer_copy) as store:
        import_feed(store, FIXTURES / "ubuntu-osv")
    sync.publish(writer_copy)
    assert reader.refresh() is True
    with reader.open() as store:
        assert store.lookup([PackageKey("Ubuntu", "22.04", "openssl")])


def test_nothing_published_yet_gives_an_empty_store(s3, tmp_path: Path) -> None:
    with S3StoreCache(s3, "feeds", "missing.db", tmp_path).open() as store:
        assert store.is_empty()


def test_unreachable_bucket_is_a_store_error(s3, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot reach the advisory store"):
        S3StoreCache(s3, "no-such-bucket", "a.db", tmp_path).refresh()
