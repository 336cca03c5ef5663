"""Fixture trees in the upstream formats: what real Debian, Alpine, UBI, Python, npm, Java
and Go images contain at the paths quaywatch reads. Records are copied in shape (and mostly
in content) from real images: debian:bookworm, alpine:3.19, ubi9, python:3.11."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from tests.support.images import Entry, Tree, executable, symlink
from tests.support.rpmdb import rpmdb_berkeley, rpmdb_ndb, rpmdb_sqlite

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

DEBIAN_OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""

DPKG_STATUS = """Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 394
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system.

Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6160
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Depends: libc6 (>= 2.34)
Description: Secure Sockets Layer toolkit - shared libraries

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries

Package: postgresql-client-common
Status: install ok installed
Architecture: all
Source: postgresql-common (248)
Version: 248
Description: manager for multiple PostgreSQL client versions

Package: libgnutls30
Status: install ok installed
Architecture: amd64
Source: gnutls28 (3.7.9-2+deb12u2)
Version: 3.7.9-2+deb12u2
Description: GNU TLS library - main runtime library

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib (1:1.2.13.dfsg-1)
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime

Package: removed-but-configured
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Description: removed package whose conffiles remain; must not be reported

Package: half-installed-pkg
Status: install reinstreq half-installed
Architecture: amd64
Version: 2.0-1
Description: broken install; must not be reported
"""

APK_INSTALLED = """C:Q1e3s0nPrEzkoZgjXJyMSbX5vBM0k=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407808
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1701280406
c:d69ff9b75f4b2bd02a1bf4e4fe1c6bfb2f1d1fc4
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1fOjnFMbQsfDr5Iz/5I1ZAMYy6X4=
R:libc.musl-x86_64.so.1

C:Q1pOI0Ul2Ynt3pHNs3MJtEp5kVbXg=
P:libcrypto3
V:3.1.4-r5
A:x86_64
S:1762398
I:4255744
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>
t:1706187364
D:so:libc.musl-x86_64.so.1
F:lib
R:libcrypto.so.3

C:Q1Hh0lDOEyVnPGYXUqBbM2VTvvX1A=
P:busybox
V:1.36.1-r15
A:x86_64
o:busybox
F:bin
R:busybox

C:Q1J2sQzY1pFG5e7PHhWkfvBoGNLxg=
P:ssl_client
V:1.36.1-r15
A:x86_64
o:busybox
"""

ALPINE_OS_RELEASE = """NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
"""

UBI_OS_RELEASE = """NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"
"""

RPM_PACKAGES: list[dict[str, str | int]] = [
    {"name": "openssl-libs", "version": "3.0.7", "release": "27.el9", "epoch": 1, "arch": "x86_64",
     "sourcerpm": "openssl-3.0.7-27.el9.src.rpm", "vendor": "Red Hat, Inc.", "summary": "A general purpose cryptography library"},
    {"name": "bash", "version": "5.1.8", "release": "9.el9", "arch": "x86_64",
     "sourcerpm": "bash-5.1.8-9.el9.src.rpm", "vendor": "Red Hat, Inc.", "summary": "The GNU Bourne Again shell"},
    {"name": "gpg-pubkey", "version": "fd431d51", "release": "4ae0493b", "summary": "a key, not a package"},
]


def debian_base() -> Tree:
    return {
        "etc/os-release": symlink("../usr/lib/os-release"),
        "usr/lib/os-release": DEBIAN_OS_RELEASE,
        "etc/debian_version": "12.5\n",
        "var/lib/dpkg/status": DPKG_STATUS,
        "bin/sh": executable(b"\x7fELF" + b"\0" * 200),  # an ELF without Go build info
        "usr/share/doc/base-files/README": "x" * 1000,
    }


def distroless_base() -> Tree:
    return {
        "etc/os-release": 'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\nVERSION_ID="12"\n',
        "var/lib/dpkg/status.d/base": "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
        "var/lib/dpkg/status.d/libssl3": "Package: libssl3\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n",
        "var/lib/dpkg/status.d/libssl3.md5sums": "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x86_64-linux-gnu/libssl.so.3\n",
    }


def alpine_base(repositories_release: str = "v3.19") -> Tree:
    return {
        "etc/os-release": ALPINE_OS_RELEASE,
        "etc/alpine-release": "3.19.1\n",
        "lib/apk/db/installed": APK_INSTALLED,
        "etc/apk/repositories": (
            f"https://dl-cdn.alpinelinux.org/alpine/{repositories_release}/main\n"
            f"https://dl-cdn.alpinelinux.org/alpine/{repositories_release}/community\n"
        ),
    }


APK_INSTALLED_310 = """C:Q1Tz0CdSPvqR6W9MqA4rLU0rGt6Y8=
P:musl
V:1.1.22-r2
A:x86_64
o:musl
F:lib
R:libc.musl-x86_64.so.1

C:Q1bA7sLLHB3N+VdmUAW4u0D5yhKnE=
P:busybox
V:1.30.1-r2
A:x86_64
o:busybox
F:bin
R:busybox

C:Q1yC0lQ5Rs0lKpNQ9sLGyS3fPbtDA=
P:libcrypto1.1
V:1.1.1c-r0
A:x86_64
o:openssl
F:lib
R:libcrypto.so.1.1

C:Q1mB4rK2KZ0uVvV6sQ6JQ1ZR7xzDw=
P:libssl1.1
V:1.1.1c-r0
A:x86_64
o:openssl
F:lib
R:libssl.so.1.1
"""


def alpine_310_base() -> Tree:
    """Alpine 3.10.2 as shipped in August 2019: musl, busybox and openssl releases that the
    v3.10 secdb lists fixes for (musl 1.1.22-r3, openssl 1.1.1d-r0; busybox already fixed)."""
    return {
        "etc/os-release": ALPINE_OS_RELEASE.replace("3.19.1", "3.10.2").replace("v3.19", "v3.10"),
        "etc/alpine-release": "3.10.2\n",
        "lib/apk/db/installed": APK_INSTALLED_310,
        "etc/apk/repositories": "https://dl-cdn.alpinelinux.org/alpine/v3.10/main\n",
    }


def alpine_310_with(musl: str = "1.1.22-r2", openssl: str = "1.1.1c-r0", marker: str = "") -> Tree:
    """Alpine 3.10 with the given musl and openssl releases: the tags of a base repository."""
    tree = alpine_310_base()
    tree["lib/apk/db/installed"] = (APK_INSTALLED_310.replace("V:1.1.22-r2", f"V:{musl}")
                                    .replace("V:1.1.1c-r0", f"V:{openssl}"))
    if marker:
        tree["etc/base-release"] = marker
    return tree


def ubi_base() -> Tree:
    return {
        "etc/os-release": UBI_OS_RELEASE,
        "etc/redhat-release": "Red Hat Enterprise Linux release 9.4 (Plow)\n",
        "var/lib/rpm/rpmdb.sqlite": rpmdb_sqlite(RPM_PACKAGES),
    }


# Package records of a UBI 8 image; the long summaries push headers onto overflow pages, as
# real headers (several KB each) always are.
RPM_PACKAGES_EL8: list[dict[str, str | int]] = [
    {"name": "openssl-libs", "version": "1.1.1k", "release": "12.el8_9", "epoch": 1, "arch": "x86_64",
     "sourcerpm": "openssl-1.1.1k-12.el8_9.src.rpm", "vendor": "Red Hat, Inc.", "summary": "OpenSSL libraries " * 400},
    {"name": "bash", "version": "4.4.20", "release": "4.el8_6", "arch": "x86_64",
     "sourcerpm": "bash-4.4.20-4.el8_6.src.rpm", "vendor": "Red Hat, Inc.", "summary": "The GNU Bourne Again shell"},
    {"name": "gpg-pubkey", "version": "fd431d51", "release": "4ae0493b", "summary": "a key, not a package"},
]


def ubi8_base() -> Tree:
    return {
        "etc/os-release": UBI_OS_RELEASE.replace("9.4", "8.9").replace("Plow", "Ootpa"),
        "etc/redhat-release": "Red Hat Enterprise Linux release 8.9 (Ootpa)\n",
        "var/lib/rpm/Packages": rpmdb_berkeley(RPM_PACKAGES_EL8),
    }


SLES_OS_RELEASE = """NAME="SLES"
VERSION="15-SP5"
VERSION_ID="15.5"
PRETTY_NAME="SUSE Linux Enterprise Server 15 SP5"
ID="sles"
ID_LIKE="suse"
CPE_NAME="cpe:/o:suse:sles:15:sp5"
"""

# Package records of a SLE 15 SP5 BCI image (names with a version inside, as SUSE's are).
RPM_PACKAGES_SLE15: list[dict[str, str | int]] = [
    {"name": "libopenssl3", "version": "3.0.8", "release": "150500.5.14.1", "arch": "x86_64",
     "sourcerpm": "openssl-3-3.0.8-150500.5.14.1.src.rpm", "vendor": "SUSE LLC <https://www.suse.com/>",
     "summary": "Secure Sockets and Transport Layer Security " * 50},
    {"name": "bash", "version": "4.4", "release": "150400.27.3.2", "arch": "x86_64",
     "sourcerpm": "bash-4.4-150400.27.3.2.src.rpm", "vendor": "SUSE LLC <https://www.suse.com/>", "summary": "The GNU Bourne-Again Shell"},
    {"name": "gpg-pubkey", "version": "39db7c82", "release": "5f68629b", "summary": "a key, not a package"},
]


def sles_base() -> Tree:
    """SLE BCI: the database lives in usr/lib/sysimage/rpm, var/lib/rpm is a link to it."""
    return {
        "etc/os-release": symlink("../usr/lib/os-release"),
        "usr/lib/os-release": SLES_OS_RELEASE,
        "var/lib/rpm": symlink("../../usr/lib/sysimage/rpm"),
        "usr/lib/sysimage/rpm/Packages.db": rpmdb_ndb(RPM_PACKAGES_SLE15, free_slots=(2,)),
    }


def python_layer(site: str = "usr/local/lib/python3.11/site-packages") -> Tree:
    return {
        f"{site}/requests-2.31.0.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: Python HTTP for Humans.\n\n"
            "# Requests\n\nLong description.\n"
        ),
        f"{site}/requests-2.31.0.dist-info/RECORD": "requests/__init__.py,,\n",
        f"{site}/PyYAML-5.3.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.3.1\n",
        f"{site}/Django-3.2.egg-info/PKG-INFO": "Metadata-Version: 1.1\nName: Django\nVersion: 3.2\n",
        "usr/lib/python3/dist-packages/six-1.16.0.egg-info": "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\n",
        f"{site}/requests/__init__.py": "__version__ = '2.31.0'\n",
    }


def npm_layer() -> Tree:
    return {
        "app/package.json": '{"name": "my-app", "version": "1.0.0"}',  # the application, not installed
        "app/node_modules/lodash/package.json": '{"name": "lodash", "version": "4.17.20"}',
        "app/node_modules/lodash/fp/package.json": '{"name": "lodash-fp-inner"}',
        "app/node_modules/@babel/core/package.json": '{"name": "@babel/core", "version": "7.22.5"}',
        "app/node_modules/express/node_modules/qs/package.json": '{"name": "qs", "version": "6.5.2"}',
        "app/node_modules/express/package.json": '{"name": "express", "version": "4.17.1"}',
        "app/node_modules/broken/package.json": "{not json",
    }


def jar(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(entries.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data)
    return buffer.getvalue()


def java_layer() -> Tree:
    log4j = jar({
        "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\nImplementation-Version: 2.14.1\r\n",
        "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties":
            "#Created by Apache Maven\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n",
        "org/apache/logging/log4j/core/Logger.class": b"\xca\xfe\xba\xbe",
    })
    guava_manifest_only = jar({
        "META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\nImplementation-Vendor-Id: com.google.guava\r\nImplementation-Version: 31.1-jre\r\n",
    })
    war = jar({
        "WEB-INF/web.xml": "<web-app/>",
        "WEB-INF/lib/jackson-databind-2.9.10.jar": jar({
            "META-INF/maven/com.fasterxml.jackson.core/jackson-databind/pom.properties":
                "groupId=com.fasterxml.jackson.core\nartifactId=jackson-databind\nversion=2.9.10\n",
        }),
    })
    return {
        "opt/app/lib/log4j-core-2.14.1.jar": log4j,
        "opt/app/lib/guava-31.1-jre.jar": guava_manifest_only,
        "opt/tomcat/webapps/shop.war": war,
        "opt/app/lib/not-a-zip.jar": b"this is not a zip",
    }


def go_binary() -> bytes | None:
    """Builds the fixture Go program (vendored dependency, offline); None if no Go."""
    go = shutil.which("go")
    if go is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        shutil.copytree(FIXTURES / "gomod", source)
        env = {**os.environ, "GOFLAGS": "-mod=vendor", "GOPROXY": "off", "CGO_ENABLED": "0",
               "GOCACHE": str(Path(tmp) / "cache"), "GOPATH": str(Path(tmp) / "gopath"), "GOTOOLCHAIN": "local"}
        subprocess.run([go, "build", "-trimpath", "-o", "hello", "."], cwd=source, env=env, check=True, capture_output=True)
        return (source / "hello").read_bytes()


def go_version() -> str:
    out = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    return out.removeprefix("go")


def whiteout(path: str) -> tuple[str, Entry]:
    directory, _, name = path.rpartition("/")
    return (f"{directory}/.wh.{name}" if directory else f".wh.{name}", Entry())


def opaque(directory: str) -> tuple[str, Entry]:
    return (f"{directory}/.wh..wh..opq", Entry())
