"""Scanning real registry images built from fixture trees: what is found, and where."""

from __future__ import annotations

import pytest
from quaywatch.image.cache import MemoryLayerCache
from quaywatch.inventory.models import Inventory
from quaywatch.registry.errors import PlatformNotFoundError
from quaywatch.registry.reference import ImageReference, Platform
from quaywatch.scanning.scanner import ImageScanner, ScanOptions

from tests.support import fixtures
from tests.support.images import DOCKER_MANIFEST, executable

pytestmark = pytest.mark.registry


def scan(stack, ref: str, **options) -> Inventory:
    with stack.client() as client:
        return ImageScanner(client, options=ScanOptions(**options) if options else None).scan(
            ImageReference.parse(f"{stack.host}/{ref}")
        )


def by_name(inventory: Inventory) -> dict[str, object]:
    return {p.name: p for p in inventory.packages}


def test_debian_dpkg_source_packages_and_purls(stack):
    pushed = stack.pusher.push_image("acme/debian", "bookworm", [fixtures.debian_base()])
    inventory = scan(stack, "acme/debian:bookworm")
    assert inventory.image.digest == pushed.digest
    assert inventory.os.id == "debian" and inventory.os.version_id == "12"
    assert inventory.os.version_codename == "bookworm"
    packages = by_name(inventory)
    # Only records whose Status third word is "installed".
    assert "removed-but-configured" not in packages and "half-installed-pkg" not in packages
    assert set(packages) == {"base-files", "libssl3", "libc6", "postgresql-client-common", "libgnutls30", "zlib1g"}
    ssl = packages["libssl3"]
    assert (ssl.source_name, ssl.source_version) == ("openssl", "3.0.11-1~deb12u2")
    assert ssl.purl == "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    assert packages["postgresql-client-common"].source_name == "postgresql-common"
    assert packages["zlib1g"].version == "1:1.2.13.dfsg-1"
    assert packages["base-files"].purl == "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12"
    assert all(p.layer == inventory.image.layers[0] and p.path == "var/lib/dpkg/status" for p in packages.values())


def test_distroless_status_d(stack):
    stack.pusher.push_image("acme/distroless", "base", [fixtures.distroless_base()])
    inventory = scan(stack, "acme/distroless:base")
    assert inventory.os.distroless
    packages = by_name(inventory)
    assert set(packages) == {"base-files", "libssl3"}  # the .md5sums file is not a record
    assert packages["libssl3"].path == "var/lib/dpkg/status.d/libssl3"
    assert packages["libssl3"].source_name == "openssl"


def test_alpine_origin_and_repository_release(stack):
    stack.pusher.push_image("acme/alpine", "3.19", [fixtures.alpine_base()])
    stack.pusher.push_image("acme/alpine", "mixed", [fixtures.alpine_base(repositories_release="edge")])
    inventory = scan(stack, "acme/alpine:3.19")
    assert (inventory.os.id, inventory.os.version_id, inventory.os.apk_release) == ("alpine", "3.19.1", None)
    packages = by_name(inventory)
    assert packages["libcrypto3"].source_name == "openssl"
    assert packages["ssl_client"].source_name == "busybox"
    assert packages["libcrypto3"].purl == (
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl"
    )
    assert packages["musl"].version == "1.2.4_git20230717-r4"
    assert scan(stack, "acme/alpine:mixed").os.apk_release == "edge"


def test_rhel_rpmdb_sqlite(stack):
    stack.pusher.push_image("acme/ubi", "9", [fixtures.ubi_base()])
    inventory = scan(stack, "acme/ubi:9")
    assert (inventory.os.id, inventory.os.version_id) == ("rhel", "9.4")
    packages = by_name(inventory)
    assert set(packages) == {"openssl-libs", "bash"}  # gpg-pubkey entries are keys, not packages
    ssl = packages["openssl-libs"]
    assert (ssl.version, ssl.epoch, ssl.source_name, ssl.source_version) == ("3.0.7-27.el9", 1, "openssl", "3.0.7-27.el9")
    assert ssl.purl == (
        "pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1"
        "&upstream=openssl-3.0.7-27.el9.src.rpm"
    )


def test_rhel8_berkeley_db_packages(stack):
    stack.pusher.push_image("acme/ubi", "8", [fixtures.ubi8_base()])
    inventory = scan(stack, "acme/ubi:8")
    assert (inventory.os.id, inventory.os.version_id) == ("rhel", "8.9")
    packages = by_name(inventory)
    assert set(packages) == {"openssl-libs", "bash"}
    ssl = packages["openssl-libs"]
    assert (ssl.version, ssl.epoch, ssl.source_name, ssl.path) == ("1.1.1k-12.el8_9", 1, "openssl", "var/lib/rpm/Packages")
    assert ssl.purl == (
        "pkg:rpm/redhat/openssl-libs@1.1.1k-12.el8_9?arch=x86_64&distro=rhel-8.9&epoch=1"
        "&upstream=openssl-1.1.1k-12.el8_9.src.rpm"
    )
    assert inventory.warnings == []


def test_sles_ndb_packages_db(stack):
    stack.pusher.push_image("acme/bci", "15.5", [fixtures.sles_base()])
    inventory = scan(stack, "acme/bci:15.5")
    assert (inventory.os.id, inventory.os.version_id) == ("sles", "15.5")
    packages = by_name(inventory)
    assert set(packages) == {"libopenssl3", "bash"}
    ssl = packages["libopenssl3"]
    assert (ssl.version, ssl.source_name, ssl.source_version, ssl.path) == (
        "3.0.8-150500.5.14.1", "openssl-3", "3.0.8-150500.5.14.1", "usr/lib/sysimage/rpm/Packages.db")
    assert ssl.purl == (
        "pkg:rpm/sles/libopenssl3@3.0.8-150500.5.14.1?arch=x86_64&distro=sles-15.5"
        "&upstream=openssl-3-3.0.8-150500.5.14.1.src.rpm"
    )
    assert inventory.warnings == []


def test_language_packages_python_npm_java(stack):
    layers = [fixtures.debian_base(), fixtures.python_layer(), fixtures.npm_layer(), fixtures.java_layer()]
    stack.pusher.push_image("acme/app", "1.0", layers)
    inventory = scan(stack, "acme/app:1.0")
    found = {(p.type, p.namespace, p.name, p.version) for p in inventory.packages if p.type != "deb"}
    assert found == {
        ("pypi", None, "requests", "2.31.0"),
        ("pypi", None, "PyYAML", "5.3.1"),
        ("pypi", None, "Django", "3.2"),
        ("pypi", None, "six", "1.16.0"),
        ("npm", None, "lodash", "4.17.20"),
        ("npm", "@babel", "core", "7.22.5"),
        ("npm", None, "express", "4.17.1"),
        ("npm", None, "qs", "6.5.2"),
        ("maven", "org.apache.logging.log4j", "log4j-core", "2.14.1"),
        ("maven", "com.google.guava", "guava", "31.1-jre"),
        ("maven", "com.fasterxml.jackson.core", "jackson-databind", "2.9.10"),
    }
    purls = {p.purl for p in inventory.packages}
    assert "pkg:pypi/pyyaml@5.3.1" in purls
    assert "pkg:npm/%40babel/core@7.22.5" in purls
    assert "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1" in purls
    jackson = next(p for p in inventory.packages if p.name == "jackson-databind")
    assert jackson.path == "opt/tomcat/webapps/shop.war:WEB-INF/lib/jackson-databind-2.9.10.jar"
    assert jackson.layer == inventory.image.layers[3]
    assert any("not-a-zip.jar" in w for w in inventory.warnings)
    assert any("broken/package.json" in w for w in inventory.warnings)


def test_go_binary_build_info(stack):
    binary = fixtures.go_binary()
    if binary is None:
        pytest.fail("the Go toolchain is not installed: `make setup` (or apt-get install golang-go) first")
    stack.pusher.push_image("acme/goapp", "1", [{"usr/local/bin/hello": executable(binary)}])
    inventory = scan(stack, "acme/goapp:1")
    found = {(p.namespace, p.name, p.version) for p in inventory.packages}
    assert ("github.com/example", "greeting", "v1.2.3") in found
    assert (None, "stdlib", fixtures.go_version()) in found
    greeting = next(p for p in inventory.packages if p.name == "greeting")
    assert greeting.purl == "pkg:golang/github.com/example/greeting@v1.2.3"
    assert greeting.path == "usr/local/bin/hello"


def test_whiteouts_and_opaque_directories_across_layers(stack):
    site = "usr/local/lib/python3.11/site-packages"
    upper = dict([
        fixtures.whiteout(f"{site}/requests-2.31.0.dist-info"),
        fixtures.opaque("app/node_modules"),
        fixtures.whiteout("var/lib/dpkg/status"),
    ])
    upper["app/node_modules/left-pad/package.json"] = '{"name": "left-pad", "version": "1.3.0"}'
    upper["var/lib/dpkg/status.d/tzdata"] = "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n"
    stack.pusher.push_image("acme/layers", "1", [fixtures.debian_base(), fixtures.python_layer(), fixtures.npm_layer(), upper])
    inventory = scan(stack, "acme/layers:1")
    names = {p.name for p in inventory.packages}
    assert "requests" not in names and "PyYAML" in names  # whiteout removes only that directory
    assert "lodash" not in names and "express" not in names  # opaque dir hides lower node_modules
    assert "left-pad" in names  # ...but not the upper layer's own entries
    assert "libssl3" not in names and "tzdata" in names
    left_pad = next(p for p in inventory.packages if p.name == "left-pad")
    assert left_pad.layer == inventory.image.layers[3]


def test_upper_layer_replaces_package_database(stack):
    newer = fixtures.DPKG_STATUS.replace("Version: 3.0.11-1~deb12u2", "Version: 3.0.13-1~deb12u1")
    stack.pusher.push_image("acme/upgraded", "1", [fixtures.debian_base(), {"var/lib/dpkg/status": newer}])
    inventory = scan(stack, "acme/upgraded:1")
    ssl = [p for p in inventory.packages if p.name == "libssl3"]
    assert len(ssl) == 1 and ssl[0].version == "3.0.13-1~deb12u1"
    assert ssl[0].layer == inventory.image.layers[1]


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_zstd_and_uncompressed_layers(stack, compression):
    stack.pusher.push_image("acme/compressed", compression, [fixtures.alpine_base()], compression=compression)
    assert "busybox" in by_name(scan(stack, f"acme/compressed:{compression}"))


def test_docker_schema2_manifest(stack):
    stack.pusher.push_image("acme/docker", "v2", [fixtures.alpine_base()], media_type=DOCKER_MANIFEST)
    inventory = scan(stack, "acme/docker:v2")
    assert "musl" in by_name(inventory)


def test_scan_by_digest(stack):
    pushed = stack.pusher.push_image("acme/alpine", "bydigest", [fixtures.alpine_base()])
    inventory = scan(stack, f"acme/alpine@{pushed.digest}")
    assert inventory.image.digest == pushed.digest and inventory.image.tag is None


def _push_multiarch(stack):
    amd64 = stack.pusher.push_image("acme/multi", None, [fixtures.debian_base()])
    arm64 = stack.pusher.push_image("acme/multi", None, [fixtures.alpine_base()], platform=("linux", "arm64"))
    attestation = stack.pusher.push_image("acme/multi", None, [{"intoto.json": "{}"}], platform=("unknown", "unknown"))
    index = stack.pusher.push_index(
        "acme/multi",
        "latest",
        [
            (attestation, {"platform": {"os": "unknown", "architecture": "unknown"},
                           "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                           "vnd.docker.reference.digest": amd64.digest}}),
            (amd64, {"platform": {"os": "linux", "architecture": "amd64"}}),
            (arm64, {"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}),
        ],
    )
    return amd64, arm64, index


def test_multi_platform_index_default_and_selected(stack):
    amd64, arm64, index = _push_multiarch(stack)
    default = scan(stack, "acme/multi:latest")
    assert default.image.digest == amd64.digest and default.image.index_digest == index.digest
    assert default.os.id == "debian" and default.image.platform == "linux/amd64"
    arm = scan(stack, "acme/multi:latest", platform=Platform.parse("linux/arm64"), platform_explicit=True)
    assert arm.image.digest == arm64.digest and arm.os.id == "alpine"
    with pytest.raises(PlatformNotFoundError, match="linux/amd64, linux/arm64/v8"):
        scan(stack, "acme/multi:latest", platform=Platform.parse("linux/s390x"), platform_explicit=True)


def test_shared_base_layers_are_read_once(stack):
    stack.pusher.push_image("acme/shared", "one", [fixtures.debian_base(), fixtures.python_layer()])
    stack.pusher.push_image("acme/shared", "two", [fixtures.debian_base(), fixtures.npm_layer()])
    cache = MemoryLayerCache()
    with stack.client() as client:
        scanner = ImageScanner(client, cache=cache)
        first = scanner.scan(ImageReference.parse(f"{stack.host}/acme/shared:one"))
        blob_reads = stack.front.stats.count(r"/blobs/sha256:")
        second = scanner.scan(ImageReference.parse(f"{stack.host}/acme/shared:two"))
    base = first.image.layers[0]
    assert second.image.layers[0] == base
    # The second image downloads its config and its own top layer only, not the base layer.
    assert stack.front.stats.count(r"/blobs/sha256:") - blob_reads == 2
    assert sum(1 for _, path in stack.front.stats.requests if path.endswith(base)) == 1
    assert "libssl3" in by_name(second) and "lodash" in by_name(second)


class RecordedProgress:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.done: list[tuple[str, bool]] = []

    def layers_found(self, layers) -> None:
        self.found = [layer.digest for layer in layers]

    def layer_done(self, layer, cached: bool) -> None:
        self.done.append((layer.digest, cached))


def test_progress_reports_every_layer_and_what_came_from_cache(stack):
    stack.pusher.push_image("acme/progress", "1", [fixtures.debian_base(), fixtures.python_layer(), fixtures.npm_layer()])
    ref = ImageReference.parse(f"{stack.host}/acme/progress:1")
    with stack.client() as client:
        scanner = ImageScanner(client)  # one in-memory layer cache for both scans
        first, second = RecordedProgress(), RecordedProgress()
        scanner.scan(ref, first)
        scanner.scan(ref, second)
    assert len(first.found) == 3
    assert sorted(first.done) == sorted((digest, False) for digest in first.found)
    assert sorted(second.done) == sorted((digest, True) for digest in first.found)
