"""Red Hat CSAF VEX documents in the shape Red Hat publishes them, and rpm databases written
by the rpm tool itself.

The documents follow Red Hat's security-data guidelines (csaf-vex.md): a vendor branch with
``product_family`` / ``product_name`` branches (CPEs), unfixed ``product_version`` components
named without version (``libxml2``, ``libxml2.src`` with ``?arch=src``), fixed components
under ``architecture`` branches with version and arch in name and purl (``epoch`` qualifier),
``default_component_of`` relationships, and a vulnerability with ``product_status``,
``remediations`` (``vendor_fix`` with the RHSA URL, ``none_available``, ``no_fix_planned``),
``threats`` and ``scores``.
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import zstandard


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    cpe: str
    family: str


RHEL9 = Product("red_hat_enterprise_linux_9", "Red Hat Enterprise Linux 9", "cpe:/o:redhat:enterprise_linux:9",
                "Red Hat Enterprise Linux 9")
RHEL8 = Product("red_hat_enterprise_linux_8", "Red Hat Enterprise Linux 8", "cpe:/o:redhat:enterprise_linux:8",
                "Red Hat Enterprise Linux 8")
BASEOS_9 = Product("BaseOS-9.4.0.Z.MAIN", "Red Hat Enterprise Linux BaseOS (v. 9)",
                   "cpe:/o:redhat:enterprise_linux:9::baseos", "Red Hat Enterprise Linux 9")
APPSTREAM_9 = Product("AppStream-9.4.0.Z.MAIN", "Red Hat Enterprise Linux AppStream (v. 9)",
                      "cpe:/a:redhat:enterprise_linux:9::appstream", "Red Hat Enterprise Linux 9")
APPSTREAM_EUS_92 = Product("AppStream-9.2.0.Z.EUS", "Red Hat Enterprise Linux AppStream EUS (v.9.2)",
                           "cpe:/a:redhat:rhel_eus:9.2::appstream", "Red Hat Enterprise Linux 9")


@dataclass(frozen=True)
class Statement:
    """One component of one product: ``status`` is a CSAF product status."""

    product: Product
    component: str
    status: str  # fixed | known_affected | known_not_affected | under_investigation
    source: bool = False  # names the source rpm (?arch=src)
    fixed: str | None = None  # [epoch:]version-release of the fix
    arch: str = "x86_64"
    remediation: tuple[str, str] | None = None  # (category, details) for known_affected
    rhsa: str | None = None
    impact: str | None = None  # this component's own impact, else the document's

    @property
    def component_id(self) -> str:
        if self.fixed:
            return f"{self.component}-{_with_epoch(self.fixed)}.{self.arch_name}"
        return f"{self.component}.src" if self.source else self.component

    @property
    def arch_name(self) -> str:
        return "src" if self.source else self.arch

    @property
    def purl(self) -> str:
        if self.fixed:
            epoch, _, evr = self.fixed.rpartition(":")
            qualifiers = f"arch={self.arch_name}" + (f"&epoch={epoch}" if epoch and epoch != "0" else "")
            return f"pkg:rpm/redhat/{self.component}@{evr}?{qualifiers}"
        return f"pkg:rpm/redhat/{self.component}" + ("?arch=src" if self.source else "")

    @property
    def full_id(self) -> str:
        return f"{self.product.product_id}:{self.component_id}"


def _with_epoch(evr: str) -> str:
    return evr if ":" in evr else f"0:{evr}"


def vex_document(cve: str, statements: list[Statement], impact: str = "Moderate", summary: str = "",
                 cvss: str | None = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N") -> dict:
    products = {s.product.product_id: s.product for s in statements}
    families: dict[str, list[Product]] = {}
    for product in products.values():
        families.setdefault(product.family, []).append(product)
    branches: list[dict] = [
        {"category": "product_family", "name": family, "branches": [
            {"category": "product_name", "name": p.name, "product": {
                "name": p.name, "product_id": p.product_id, "product_identification_helper": {"cpe": p.cpe}}}
            for p in members]}
        for family, members in families.items()
    ]
    by_arch: dict[str, dict[str, Statement]] = {}
    for statement in statements:
        if statement.fixed:
            by_arch.setdefault(statement.arch_name, {})[statement.component_id] = statement
        else:
            branches.append(_version_branch(statement))
    for arch, fixed in by_arch.items():
        branches.append({"category": "architecture", "name": arch,
                         "branches": [_version_branch(s) for s in fixed.values()]})
    relationships = [
        {"category": "default_component_of",
         "full_product_name": {"name": f"{s.component_id} as a component of {s.product.name}", "product_id": s.full_id},
         "product_reference": s.component_id, "relates_to_product_reference": s.product.product_id}
        for s in statements
    ]
    status: dict[str, list[str]] = {}
    for statement in statements:
        status.setdefault(statement.status, []).append(statement.full_id)
    remediations = []
    for rhsa in sorted({s.rhsa for s in statements if s.rhsa}):
        remediations.append({
            "category": "vendor_fix", "details": "For details on how to apply this update, which includes the changes "
            "described in this advisory, refer to:\n\nhttps://access.redhat.com/articles/11258",
            "product_ids": [s.full_id for s in statements if s.rhsa == rhsa],
            "url": f"https://access.redhat.com/errata/{rhsa}"})
    for remedy in sorted({s.remediation for s in statements if s.remediation}):
        remediations.append({"category": remedy[0], "details": remedy[1],
                             "product_ids": [s.full_id for s in statements if s.remediation == remedy]})
    remediations.append({"category": "workaround", "details": "Mitigation for this issue is either not available or "
                         "the currently available options don't meet the Red Hat Product Security criteria.",
                         "product_ids": [s.full_id for s in statements]})
    threats = [{"category": "impact", "details": impact, "product_ids": []}]
    for level in sorted({s.impact for s in statements if s.impact}):
        threats.append({"category": "impact", "details": level,
                        "product_ids": [s.full_id for s in statements if s.impact == level]})
    vulnerability: dict = {
        "cve": cve,
        "cwe": {"id": "CWE-787", "name": "Out-of-bounds Write"},
        "discovery_date": "2024-01-10T00:00:00+00:00",
        "notes": [
            {"category": "description", "text": f"A flaw was found in {statements[0].component}.",
             "title": "Vulnerability description"},
            {"category": "summary", "text": summary or f"{statements[0].component}: a flaw", "title": "Vulnerability summary"},
        ],
        "product_status": status,
        "references": [{"category": "self", "summary": "Canonical URL",
                        "url": f"https://access.redhat.com/security/cve/{cve}"}],
        "release_date": "2024-01-12T00:00:00+00:00",
        "remediations": remediations,
        "threats": threats,
    }
    if cvss:
        vulnerability["scores"] = [{"cvss_v3": {"baseScore": 6.5, "baseSeverity": "MEDIUM", "vectorString": cvss,
                                                "version": "3.1"}, "products": [s.full_id for s in statements]}]
    return {
        "document": {
            "aggregate_severity": {"namespace": "https://access.redhat.com/security/updates/classification/",
                                   "text": impact.lower()},
            "category": "csaf_vex", "csaf_version": "2.0",
            "distribution": {"text": "Copyright © Red Hat, Inc. All rights reserved.",
                             "tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"}},
            "lang": "en",
            "publisher": {"category": "vendor", "contact_details": "https://access.redhat.com/security/team/contact/",
                          "name": "Red Hat Product Security", "namespace": "https://www.redhat.com"},
            "title": summary or f"{statements[0].component}: a flaw",
            "tracking": {"current_release_date": "2024-09-13T20:58:30+00:00", "generator": {
                "date": "2024-09-13T20:58:30+00:00", "engine": {"name": "Red Hat SDEngine", "version": "4.0.0"}},
                "id": cve, "initial_release_date": "2024-01-12T00:00:00+00:00",
                "revision_history": [{"date": "2024-01-12T00:00:00+00:00", "number": "1", "summary": "Initial version"}],
                "status": "final", "version": "2"},
        },
        "product_tree": {"branches": [{"branches": branches, "category": "vendor", "name": "Red Hat"}],
                         "relationships": relationships},
        "vulnerabilities": [vulnerability],
    }


def _version_branch(statement: Statement) -> dict:
    return {"category": "product_version", "name": statement.component_id, "product": {
        "name": statement.component_id, "product_id": statement.component_id,
        "product_identification_helper": {"purl": statement.purl}}}


def write_vex_directory(root: Path, documents: list[dict]) -> list[str]:
    """Documents laid out as Red Hat publishes them (``YYYY/cve-YYYY-NNNN.json``); their paths."""
    paths = []
    for document in documents:
        path = document_path(document)
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(json.dumps(document, indent=2))
        paths.append(path)
    return paths


REPOSITORY_TO_CPE = {"data": {
    "rhel-9-for-x86_64-baseos-rpms": {"cpes": ["cpe:/o:redhat:enterprise_linux:9::baseos"],
                                      "repo_relative_urls": ["content/dist/rhel9/9/x86_64/baseos/os"]},
    "rhel-9-for-x86_64-appstream-rpms": {"cpes": ["cpe:/a:redhat:enterprise_linux:9::appstream"],
                                         "repo_relative_urls": ["content/dist/rhel9/9/x86_64/appstream/os"]},
    "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2": {"cpes": ["cpe:/o:redhat:rhel_eus:9.2::baseos"],
                                                   "repo_relative_urls": ["content/eus/rhel9/9.2/x86_64/baseos/os"]},
    "rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2": {"cpes": ["cpe:/a:redhat:rhel_eus:9.2::appstream"],
                                                      "repo_relative_urls": ["content/eus/rhel9/9.2/x86_64/appstream/os"]},
    "rhel-8-for-x86_64-baseos-rpms": {"cpes": ["cpe:/o:redhat:enterprise_linux:8::baseos"],
                                      "repo_relative_urls": ["content/dist/rhel8/8/x86_64/baseos/os"]},
}}


def content_manifest(content_sets: list[str]) -> str:
    """A ``root/buildinfo/content_manifests/*.json`` as Red Hat's build system writes it."""
    return json.dumps({
        "metadata": {"icm_version": 1, "icm_spec": "https://raw.githubusercontent.com/containerbuildsystem/"
                     "atomic-reactor/master/atomic_reactor/schemas/content_manifest.json", "image_layer_index": 1},
        "content_sets": content_sets,
        "image_contents": [],
    }, indent=4)


@dataclass(frozen=True)
class SourceRpm:
    """A source package and the binary packages it builds (``binaries`` beside its own name)."""

    name: str
    version: str
    release: str
    epoch: int | None = None
    binaries: tuple[str, ...] = ()
    main: bool = True  # the source builds a binary package of its own name
    extra: dict = field(default_factory=dict)


def rpmdb_by_rpm_tool(sources: list[SourceRpm]) -> bytes:
    """An ``rpmdb.sqlite`` written by rpm itself: each source is built with rpmbuild (empty
    noarch packages with their subpackages) and registered with ``rpm -i --justdb``."""
    rpmbuild, rpm = shutil.which("rpmbuild"), shutil.which("rpm")
    if rpmbuild is None or rpm is None:
        raise RuntimeError("rpm is missing: apt-get install rpm")
    with tempfile.TemporaryDirectory() as scratch:
        top, db = Path(scratch) / "top", Path(scratch) / "db"
        (top / "SPECS").mkdir(parents=True)
        db.mkdir()
        for source in sources:
            spec = top / "SPECS" / f"{source.name}.spec"
            spec.write_text(_spec(source))
            subprocess.run([rpmbuild, "-bb", "--nodeps", "--define", f"_topdir {top}", "--define",
                            "_build_id_links none", "--define", "__os_install_post %{nil}", str(spec)],
                           check=True, capture_output=True)
        subprocess.run([rpm, "--dbpath", str(db), "--initdb"], check=True, capture_output=True)
        built = sorted(str(p) for p in (top / "RPMS").rglob("*.rpm"))
        subprocess.run([rpm, "-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos",
                        "--dbpath", str(db), *built], check=True, capture_output=True)
        connection = sqlite3.connect(db / "rpmdb.sqlite")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # what an image build leaves: one file
        connection.close()
        return (db / "rpmdb.sqlite").read_bytes()


def _spec(source: SourceRpm) -> str:
    lines = [f"Name: {source.name}", f"Version: {source.version}", f"Release: {source.release}",
             "Summary: test package", "License: MIT", "BuildArch: noarch"]
    if source.epoch is not None:
        lines.append(f"Epoch: {source.epoch}")
    lines += ["%description", "test package"]
    for binary in source.binaries:
        lines += [f"%package -n {binary}", f"Summary: {binary}", f"%description -n {binary}", binary]
    if source.main:
        lines.append("%files")
    lines += [f"%files -n {binary}" for binary in source.binaries]
    return "\n".join(lines) + "\n"


# --- a UBI 9 image and the VEX documents that speak of its packages -------------------------

UBI9_SOURCES = [
    SourceRpm("openssl", "3.0.7", "24.el9", epoch=1, binaries=("openssl-libs",)),
    SourceRpm("glibc", "2.34", "100.el9", binaries=("glibc-common",)),
    SourceRpm("libxml2", "2.9.13", "6.el9"),
    SourceRpm("curl", "7.76.1", "29.el9"),
    SourceRpm("python3.9", "3.9.18", "3.el9", binaries=("python3", "python3-libs"), main=False),
    SourceRpm("zlib", "1.2.11", "40.el9"),
    SourceRpm("bash", "5.1.8", "9.el9"),
    SourceRpm("gnutls", "3.7.6", "23.el9"),
    SourceRpm("tar", "1.34", "6.el9", epoch=2),
    SourceRpm("krb5", "1.21.1", "1.el9", binaries=("krb5-libs",), main=False),
    SourceRpm("gcc", "11.4.1", "3.el9", binaries=("libgcc",), main=False),
]
AFFECTED = ("none_available", "Affected")
DEFERRED = ("none_available", "Deferred")
WILL_NOT_FIX = ("no_fix_planned", "Will not fix")
OUT_OF_SUPPORT = ("no_fix_planned", "Out of support scope")


def ubi9_documents() -> list[dict]:
    fixed_openssl = [Statement(BASEOS_9, name, "fixed", source=name == "openssl" and arch == "src",
                               fixed="1:3.0.7-27.el9", arch=arch, rhsa="RHSA-2024:2447")
                     for name, arch in (("openssl", "src"), ("openssl", "x86_64"), ("openssl-libs", "x86_64"))]
    return [
        vex_document("CVE-2024-0001", [*fixed_openssl, Statement(RHEL8, "openssl", "known_affected", source=True,
                                                                 remediation=AFFECTED)], impact="Moderate"),
        vex_document("CVE-2024-0002", [Statement(RHEL9, "glibc", "known_affected", source=True, remediation=AFFECTED)],
                     impact="Important"),
        vex_document("CVE-2024-0003", [Statement(RHEL9, "libxml2", "known_affected", remediation=DEFERRED)],
                     impact="Low"),
        vex_document("CVE-2024-0004", [Statement(RHEL9, "curl", "known_affected", remediation=WILL_NOT_FIX)],
                     impact="Low", cvss=None),
        vex_document("CVE-2024-0005", [Statement(RHEL9, "python3.9", "known_affected", source=True,
                                                 remediation=OUT_OF_SUPPORT)], impact="Moderate"),
        vex_document("CVE-2024-0006", [Statement(RHEL9, "zlib", "known_not_affected", source=True),
                                       Statement(RHEL8, "zlib", "known_affected", source=True, remediation=AFFECTED)]),
        vex_document("CVE-2024-0007", [Statement(RHEL9, "bash", "under_investigation", source=True)]),
        vex_document("CVE-2024-0008", [Statement(BASEOS_9, "gnutls", "fixed", source=True, fixed="3.7.6-21.el9",
                                                 rhsa="RHSA-2024:1111")]),
        vex_document("CVE-2024-0009", [Statement(RHEL8, "gcc", "known_affected", source=True, remediation=AFFECTED)]),
        vex_document("CVE-2024-0010", [Statement(APPSTREAM_EUS_92, "tar", "fixed", fixed="2:1.34-5.el9_2",
                                                 rhsa="RHSA-2024:0001"),
                                       Statement(RHEL9, "tar", "known_affected", remediation=AFFECTED)],
                     impact="Critical"),
        vex_document("CVE-2024-0011", [Statement(RHEL9, "krb5", "known_affected", source=True, remediation=AFFECTED),
                                       Statement(RHEL9, "krb5-libs", "known_not_affected")]),
    ]


# (CVE, package) -> (status, fixed_version, severity) the UBI 9 image must report, and nothing else.
UBI9_EXPECTED = {
    ("CVE-2024-0001", "openssl"): ("fixed", "1:3.0.7-27.el9", "medium"),
    ("CVE-2024-0001", "openssl-libs"): ("fixed", "1:3.0.7-27.el9", "medium"),
    ("CVE-2024-0002", "glibc"): ("affected", None, "high"),
    ("CVE-2024-0002", "glibc-common"): ("affected", None, "high"),
    ("CVE-2024-0003", "libxml2"): ("fix_deferred", None, "low"),
    ("CVE-2024-0004", "curl"): ("will_not_fix", None, "low"),
    ("CVE-2024-0005", "python3"): ("out_of_support", None, "medium"),
    ("CVE-2024-0005", "python3-libs"): ("out_of_support", None, "medium"),
    ("CVE-2024-0010", "tar"): ("affected", None, "critical"),
}
UBI9_CONTENT_SETS = ["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"]
EUS92_CONTENT_SETS = ["rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2", "rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2"]
UBI9_OS_RELEASE = ('NAME="Red Hat Enterprise Linux"\nVERSION="9.4 (Plow)"\nID="rhel"\nID_LIKE="fedora"\n'
                   'VERSION_ID="9.4"\nPRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"\n'
                   'CPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"\n')


def write_feed(root: Path) -> Path:
    """The UBI 9 documents as a VEX directory with the repository-to-CPE mapping beside it."""
    write_vex_directory(root, ubi9_documents())
    (root / "repository-to-cpe.json").write_text(json.dumps(REPOSITORY_TO_CPE))
    return root


def ubi9_tree(sources: list[SourceRpm] | None = None, content_sets: list[str] | None = None) -> dict:
    return {
        "etc/os-release": UBI9_OS_RELEASE,
        "etc/redhat-release": "Red Hat Enterprise Linux release 9.4 (Plow)\n",
        "var/lib/rpm/rpmdb.sqlite": rpmdb_by_rpm_tool(sources or UBI9_SOURCES),
        "root/buildinfo/content_manifests/ubi9-container-9.4-1214.json":
            content_manifest(UBI9_CONTENT_SETS if content_sets is None else content_sets),
    }


def vex_archive(documents: list[dict]) -> bytes:
    """Red Hat's ``csaf_vex_YYYY-MM-DD.tar.zst``: every document at its ``YYYY/cve-*.json`` path."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for document in documents:
            data = json.dumps(document).encode()
            info = tarfile.TarInfo(document_path(document))
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return zstandard.ZstdCompressor().compress(buffer.getvalue())


def document_path(document: dict) -> str:
    cve = document["vulnerabilities"][0]["cve"].lower()
    return f"{cve.split('-')[1]}/{cve}.json"
