"""Each distribution module: which images it recognises, the release their packages are
matched in, the package name and version the feeds use, and which feeds decide."""

from __future__ import annotations

import pytest
from quaywatch import distros
from quaywatch.inventory.models import OperatingSystem, Package
from quaywatch.versions import scheme_for


@pytest.mark.parametrize(
    ("os", "expected"),
    [
        (OperatingSystem(id="debian", version_id="12.5"), ("Debian", "12")),
        (OperatingSystem(id="debian", version_codename="trixie"), ("Debian", "13")),
        (OperatingSystem(id="ubuntu", version_id="22.04"), ("Ubuntu", "22.04")),
        (OperatingSystem(id="alpine", version_id="3.19.1"), ("Alpine", "3.19")),
        (OperatingSystem(id="alpine", version_id="3.19.1", apk_release="v3.20"), ("Alpine", "3.20")),
        (OperatingSystem(id="rhel", version_id="9.4"), ("Red Hat", "9")),
        (OperatingSystem(id="centos", version_id="7"), ("Red Hat", "7")),
        (OperatingSystem(id="almalinux", version_id="9.3"), ("AlmaLinux", "9")),
        (OperatingSystem(id="rocky", version_id="8.9"), ("Rocky Linux", "8")),
        (OperatingSystem(id="sles", version_id="15.5"), ("SUSE", "15.5")),
        (OperatingSystem(id="sles", version_id="12.5"), ("SUSE", "12.5")),
        (OperatingSystem(id="sle-micro", version_id="5.5"), ("SUSE", "micro-5.5")),
        (OperatingSystem(id="opensuse-leap", version_id="15.6"), ("openSUSE", "15.6")),
        (OperatingSystem(id="opensuse-tumbleweed", version_id="20240801"), ("openSUSE", "tumbleweed")),
    ],
)
def test_images_are_recognised_by_os_release(os, expected) -> None:
    distribution, release = distros.for_image(os)
    assert (distribution.ecosystem, release) == expected


@pytest.mark.parametrize("os", [OperatingSystem(id="gentoo", version_id="2.15"), OperatingSystem(id="debian"),
                                OperatingSystem(id="ubuntu"), None])
def test_unknown_or_versionless_images_are_not_guessed(os) -> None:
    assert distros.for_image(os) is None


def test_package_names_and_versions_as_each_feed_keys_them() -> None:
    deb = Package(type="deb", name="libssl3", version="3.0.11-1~deb12u2", source_name="openssl",
                  source_version="3.0.11-1~deb12u2", path="var/lib/dpkg/status")
    apk = Package(type="apk", name="libcrypto1.1", version="1.1.1c-r0", source_name="openssl", path="lib/apk/db/installed")
    rpm = Package(type="rpm", name="openssl-libs", version="3.0.7-27.el9", epoch=1, source_name="openssl",
                  path="var/lib/rpm/rpmdb.sqlite")
    debian, alpine, redhat, suse = (distros.by_ecosystem(n) for n in ("Debian", "Alpine", "Red Hat", "SUSE"))
    assert (debian.lookup_name(deb), debian.lookup_version(deb)) == ("openssl", "3.0.11-1~deb12u2")
    assert (alpine.lookup_name(apk), alpine.lookup_version(apk)) == ("openssl", "1.1.1c-r0")
    assert (redhat.lookup_name(rpm), redhat.lookup_version(rpm)) == ("openssl-libs", "1:3.0.7-27.el9")
    assert suse.lookup_name(rpm) == "openssl-libs"  # binary names, as SUSE's records


def test_every_distribution_has_version_rules_and_own_feeds_decide() -> None:
    for distribution in distros.DISTRIBUTIONS:
        assert scheme_for(distribution.ecosystem) is not None, distribution.ecosystem
    assert distros.feed_authority("debian-tracker") == distros.feed_authority("alpine-secdb") == 2
    assert distros.feed_authority("osv") == 1 and distros.feed_authority("elsewhere") == 0
    ids = [os_id for d in distros.DISTRIBUTIONS for os_id in d.os_release_ids]
    assert len(ids) == len(set(ids))  # one module per os-release ID
