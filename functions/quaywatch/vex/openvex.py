"""OpenVEX in and out: the "not affected" and fix statements Trivy, Grype and Harbor users pass.

In: a document's statements apply to a finding when they name its vulnerability (the id or an
alias) and a product that is the image (an ``oci`` purl, a ``sha256`` hash or digest: then to
the packages its ``subcomponents`` name, or to all) or the finding's package (its purl; a
version in the statement must be the installed one, qualifiers the statement gives must
agree). Later statements (by timestamp) decide over earlier ones:

- ``not_affected`` ignores the finding, with the justification and impact statement as reason;
- ``fixed`` for the installed package or the image: fixed here, so ignored too; for another
  version of the package: a fix exists in that version (status ``fixed``);
- ``affected`` makes the status ``affected`` (a known fix stays known);
- ``under_investigation`` changes nothing.

Out: one statement per finding: ``not_affected`` for an ignored finding (its reason as impact
statement), ``affected`` with an action statement (the fix, or why there is none) otherwise;
the product is the image's ``oci`` purl with the package as subcomponent, as ``trivy --vex``
and Grype match container images.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from packageurl import PackageURL
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quaywatch.advisories.models import FixStatus
from quaywatch.errors import UsageError
from quaywatch.inventory.models import ImageSummary
from quaywatch.matching.models import Finding, IgnoredBy
from quaywatch.vex.justifications import JUSTIFICATIONS

CONTEXT = "https://openvex.dev/ns/v0.2.0"
MAX_STATEMENTS = 50_000
_ACTION = {
    FixStatus.AFFECTED: "No fix is available yet.",
    FixStatus.FIX_DEFERRED: "The vendor has deferred the fix.",
    FixStatus.WILL_NOT_FIX: "The vendor will not fix it.",
    FixStatus.OUT_OF_SUPPORT: "The package is out of the vendor's support; no fix will come.",
    FixStatus.UNDER_INVESTIGATION: "The vendor is investigating whether it is affected.",
}


class OpenVexError(UsageError):
    """A document that is no valid OpenVEX; the message names the line or the field."""


class _Vulnerability(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str | None = Field(None, alias="@id")
    name: str = Field(min_length=1, max_length=200)
    aliases: list[str] = Field(default_factory=list, max_length=100)


class _Component(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str | None = Field(None, alias="@id", max_length=2000)
    identifiers: dict[str, str] = Field(default_factory=dict)
    hashes: dict[str, str] = Field(default_factory=dict)


class _Product(_Component):
    subcomponents: list[_Component] = Field(default_factory=list, max_length=10_000)


class _Statement(BaseModel):
    vulnerability: _Vulnerability | str
    timestamp: datetime | None = None
    products: list[_Product] = Field(default_factory=list, max_length=10_000)
    status: Literal["not_affected", "affected", "fixed", "under_investigation"]
    status_notes: str | None = Field(None, max_length=10_000)
    justification: Literal[JUSTIFICATIONS] | None = None  # type: ignore[valid-type]
    impact_statement: str | None = Field(None, max_length=10_000)
    action_statement: str | None = Field(None, max_length=10_000)


class _Document(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    context: str = Field(alias="@context", pattern=r"^https://openvex\.dev/ns")
    id: str = Field(alias="@id", min_length=1)
    author: str = Field(min_length=1)
    timestamp: datetime
    version: int = Field(ge=1)
    statements: list[_Statement] = Field(max_length=MAX_STATEMENTS)


@dataclass(frozen=True)
class VexStatement:
    document: str  # the document's @id
    vulnerability: str
    aliases: frozenset[str]
    status: str
    justification: str | None
    impact_statement: str | None
    products: tuple[_Product, ...]
    timestamp: datetime | None

    def reason(self) -> str:
        what = self.justification or "not affected"
        return f"VEX {self.status}: {what}" + (f": {self.impact_statement}" if self.impact_statement else "")


def read_openvex(data: bytes | str, name: str = "the VEX document") -> list[VexStatement]:
    """The statements of an OpenVEX document (v0.2.0; v0.0.1's string vulnerabilities too),
    ordered by timestamp; a malformed one is refused naming the line or the field."""
    try:
        content = json.loads(data)
    except json.JSONDecodeError as exc:
        raise OpenVexError(f"{name}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise OpenVexError(f"{name}: not UTF-8 text") from None
    except RecursionError:  # json recurses per level: a hostile document nests thousands deep
        raise OpenVexError(f"{name}: not valid JSON: nested too deeply") from None
    try:
        document = _Document.model_validate(content)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise OpenVexError(f"{name}: {_field(problem['loc'])}: {problem['msg']}") from None
    statements = []
    for index, raw in enumerate(document.statements):
        if raw.status == "not_affected" and not (raw.justification or raw.impact_statement):
            raise OpenVexError(f"{name}: statements[{index}]: a not_affected statement needs a justification or an "
                               "impact_statement")
        vulnerability = raw.vulnerability if isinstance(raw.vulnerability, _Vulnerability) else _Vulnerability(
            name=raw.vulnerability)
        timestamp = raw.timestamp or document.timestamp
        statements.append(VexStatement(
            document.id, vulnerability.name, frozenset(vulnerability.aliases), raw.status, raw.justification,
            raw.impact_statement, tuple(raw.products), timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp))
    return sorted(statements, key=lambda s: s.timestamp.timestamp() if s.timestamp and s.timestamp.tzinfo else 0)


def _field(location: tuple) -> str:
    """A pydantic error location as a path: ``statements[3].status``. The union of a string
    and an object vulnerability names its branch (``_Vulnerability``, ``str``): left out."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("_Vulnerability", "str") and not str(part).startswith("function-"):
            path += ("." if path else "") + str(part)
    return path or "the document"


@dataclass
class VexResult:
    ignored: int = 0
    statuses: int = 0


def apply_vex(findings: list[Finding], statements: list[VexStatement], image: ImageSummary) -> VexResult:
    """Apply the statements to the findings in place (see the module's rules)."""
    result = VexResult()
    for finding in findings:
        for statement in statements:
            scope = _covers(statement, finding, image)
            if scope is None:
                continue
            if statement.status == "not_affected":
                finding.ignored = IgnoredBy(reason=statement.reason(), justification=statement.justification)
                result.ignored += 1
            elif statement.status == "fixed":
                if scope and scope != _version(finding.purl):
                    finding.status, finding.fixed_version = FixStatus.FIXED, scope
                    result.statuses += 1
                else:
                    finding.ignored = IgnoredBy(reason="VEX fixed: fixed in this image")
                    result.ignored += 1
            elif statement.status == "affected" and finding.status is not FixStatus.FIXED:
                finding.status = FixStatus.AFFECTED
                result.statuses += 1
    return result


def _covers(statement: VexStatement, finding: Finding, image: ImageSummary) -> str | None:
    """None when the statement does not speak of this finding; else the version its product
    names ("" for none, or for the image itself)."""
    names = {finding.id, *finding.aliases}
    if statement.vulnerability not in names and not (statement.aliases & names):
        return None
    package = _purl(finding.purl)
    for product in statement.products:
        if _is_image(product, image):
            if not product.subcomponents or any(_same_package(_purl_of(c), package) is not None
                                                 for c in product.subcomponents):
                return ""
            continue
        version = _same_package(_purl_of(product), package)
        if version is not None:
            return version
    return None


def _names_an_image(component: _Component) -> bool:
    """An ``oci`` purl, a hash or a digest reference (``host/repo@sha256:...``) names an image."""
    purl = _purl_of(component)
    return (purl is not None and purl.type == "oci") or bool(component.hashes) or (
        purl is None and "sha256:" in (component.id or ""))


def _is_image(component: _Component, image: ImageSummary) -> bool:
    return _is_digest(component, {d.removeprefix("sha256:") for d in (image.digest, image.index_digest) if d})


def _is_digest(component: _Component, digests: set[str]) -> bool:
    """Whether the component names an image by one of ``digests`` (hex, no ``sha256:``); an
    empty digest (a project never tested) is no digest, and an empty name never matches it."""
    digests = {d for d in digests if d}
    purl = _purl_of(component)
    if purl is not None and purl.type == "oci" and purl.version:
        return purl.version.removeprefix("sha256:") in digests
    hashes = {value.removeprefix("sha256:") for key, value in component.hashes.items() if key in ("sha-256", "sha256")}
    identifier = (component.id or "").rpartition("@")[2].removeprefix("sha256:")
    return bool(hashes & digests) or identifier in digests


def _purl_of(component: _Component) -> PackageURL | None:
    return _purl(component.identifiers.get("purl") or component.id)


def _purl(text: str | None) -> PackageURL | None:
    if not text or not text.startswith("pkg:"):
        return None
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _version(purl_text: str | None) -> str:
    purl = _purl(purl_text)
    return (purl.version or "") if purl else ""


def _same_package(stated: PackageURL | None, installed: PackageURL | None) -> str | None:
    """The stated version ("" when none) when ``stated`` names the installed package; None
    otherwise. Names compare as purls normalise them; qualifiers the statement gives must agree."""
    if stated is None or installed is None or stated.type != installed.type:
        return None
    if (stated.namespace or "").lower() != (installed.namespace or "").lower() or stated.name != installed.name:
        return None
    ours = installed.qualifiers if isinstance(installed.qualifiers, dict) else {}
    theirs = stated.qualifiers if isinstance(stated.qualifiers, dict) else {}
    if any(key in ours and ours[key] != value for key, value in theirs.items()):
        return None
    return stated.version or ""


def image_purl(image: ImageSummary) -> str:
    """The image as an ``oci`` purl: the digest as version, where it is kept as qualifier."""
    name = image.repository.rsplit("/", 1)[-1].lower()
    qualifiers = {"repository_url": f"{image.registry}/{image.repository}"}
    if image.tag:
        qualifiers["tag"] = image.tag
    return PackageURL(type="oci", name=name, version=image.index_digest or image.digest, qualifiers=qualifiers).to_string()


def to_openvex(image: ImageSummary, findings: list[Finding], author: str = "quaywatch",
               now: datetime | None = None) -> dict[str, Any]:
    """The findings' ignores and statuses as an OpenVEX v0.2.0 document about the image."""
    now = now or datetime.now(UTC)
    stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    product_id = image_purl(image)
    statements = []
    for finding in findings:
        statement: dict[str, Any] = {
            "vulnerability": {"name": finding.id, **({"aliases": finding.aliases} if finding.aliases else {})},
            "products": [{"@id": product_id, "subcomponents": [{"@id": finding.purl}] if finding.purl else []}],
        }
        if finding.ignored is not None:  # the schema wants a justification or an impact statement, not both
            statement["status"] = "not_affected"
            if finding.ignored.justification:
                statement["justification"] = finding.ignored.justification
            else:
                statement["impact_statement"] = finding.ignored.reason
        elif finding.status is FixStatus.UNDER_INVESTIGATION:
            statement["status"] = "under_investigation"
        else:
            statement["status"] = "affected"
            statement["action_statement"] = (f"Upgrade {finding.package} to {finding.fixed_version} or later."
                                             if finding.fixed_version else _ACTION.get(finding.status, "No fix yet."))
        notes = f"quaywatch status: {finding.status.value}"
        if finding.ignored is not None and finding.ignored.justification:
            notes += f"; ignored: {finding.ignored.reason}"
        statement["status_notes"] = notes
        if statement not in statements:  # one package declared by two files is one statement
            statements.append(statement)
    body = json.dumps(statements, sort_keys=True).encode()
    return {
        "@context": CONTEXT,
        "@id": f"https://openvex.dev/docs/quaywatch/{quote(image.repository)}/{hashlib.sha256(body).hexdigest()[:32]}",
        "author": author,
        "role": "Document Creator",
        "timestamp": stamp,
        "version": 1,
        "tooling": "quaywatch",
        "statements": statements,
    }


def statement_packages(statement: VexStatement, digest: str | None) -> list[str | None] | None:
    """The package names a statement covers in an image of ``digest`` (None in the list: every
    package), or None when it names no product of that image. ``digest`` None (an organisation's
    statements): every image counts as named."""
    covered: list[str | None] = []
    for product in statement.products:
        if _names_an_image(product):
            if digest is not None and not _is_digest(product, {digest.removeprefix("sha256:")}):
                continue
            names = [_package_name(_purl_of(c)) for c in product.subcomponents]
            covered += [n for n in names if n] if product.subcomponents else [None]
        elif (name := _package_name(_purl_of(product))) is not None:
            covered.append(name)
    return list(dict.fromkeys(covered)) or None


def _package_name(purl: PackageURL | None) -> str | None:
    """The name a finding gives the package of ``purl`` (``Finding.package``): OS packages by
    name, Maven ``group:artifact``, others ``namespace/name``."""
    if purl is None or purl.type == "oci":
        return None
    if purl.type in ("deb", "rpm", "apk") or not purl.namespace:
        return purl.name
    return f"{purl.namespace}:{purl.name}" if purl.type == "maven" else f"{purl.namespace}/{purl.name}"
