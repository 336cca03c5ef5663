"""Red Hat's CSAF VEX documents (one per CVE) and its repository-to-CPE mapping.

Read as Red Hat's security-data guidelines describe them: the ``product_tree`` names products
(``product_name`` branches, with a CPE) and components (``product_version`` branches, with a
purl); ``relationships`` join them into the full product ids that ``product_status``,
``remediations`` and ``threats`` speak of. Per component of a RHEL product:

- ``fixed`` with a ``vendor_fix`` remediation: fixed in the purl's version (with its ``epoch``
  qualifier), by the RHSA the remediation's URL names;
- ``known_affected``: ``none_available`` "Affected" -> affected, "Deferred" -> fix deferred;
  ``no_fix_planned`` "Will not fix" -> will not fix, "Out of support scope" -> out of support;
- ``known_not_affected`` -> not affected; ``under_investigation`` -> under investigation.

Unfixed components are named without version or arch, by binary name or by source rpm
(``pkg:rpm/redhat/NAME?arch=src``, keyed ``src:NAME``). The severity is the ``threats``
impact that names the component (or the one that names no product). Components that are no
rpm (container images, Maven artifacts) and products that are no RHEL release are left out:
nothing in an image is matched against them.
"""

from __future__ import annotations

import re
from typing import Any

from packageurl import PackageURL

from quaywatch.advisories.formats.errors import InvalidRecordError
from quaywatch.advisories.models import Advisory, AffectedPackage, Event, FixStatus, Range, Severity
from quaywatch.distros.rhel import SOURCE_PREFIX, VEX_SOURCE, cpe_scope

SOURCE = VEX_SOURCE
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_RHSA = re.compile(r"RH[SBE]A-\d{4}:\d+")
_IMPACT = {"low": "low", "moderate": "medium", "important": "high", "critical": "critical"}
_UNFIXED = {
    ("none_available", "affected"): FixStatus.AFFECTED,
    ("none_available", "deferred"): FixStatus.FIX_DEFERRED,
    ("no_fix_planned", "will not fix"): FixStatus.WILL_NOT_FIX,
    ("no_fix_planned", "out of support scope"): FixStatus.OUT_OF_SUPPORT,
}
_MAX_BRANCH_DEPTH = 32
_MAX_PRODUCTS = 200_000  # product ids in one document (the kernel's CVEs list some tens of thousands)


def looks_like_csaf(document: Any) -> bool:
    meta = document.get("document") if isinstance(document, dict) else None
    return (isinstance(meta, dict) and str(meta.get("category", "")).startswith("csaf_")
            and "vulnerabilities" in document)


def looks_like_repository_cpes(document: Any) -> bool:
    """Red Hat's ``repository-to-cpe.json``: ``{"data": {repository: {"cpes": [...]}}}``."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict) or not data:
        return False
    first = next(iter(data.values()))
    return isinstance(first, dict) and "cpes" in first


def parse_repository_cpes(document: dict, bad: list[str]) -> dict[str, list[str]]:
    mapping: dict[str, list[str]] = {}
    for repository, entry in document["data"].items():
        cpes = entry.get("cpes") if isinstance(entry, dict) else None
        if not isinstance(cpes, list) or not all(isinstance(c, str) for c in cpes):
            bad.append(f"{repository}: cpes is not a list of strings")
            continue
        mapping[str(repository)] = cpes
    return mapping


def parse_csaf(document: dict, bad: list[str]) -> list[Advisory]:
    """One advisory per vulnerability of the document (a VEX file has one)."""
    if document["document"].get("category") not in ("csaf_vex", "csaf_security_advisory"):
        raise InvalidRecordError(f"document.category {document['document'].get('category')!r}: "
                                 "only csaf_vex and csaf_security_advisory documents are read")
    tree = document.get("product_tree")
    if not isinstance(tree, dict):
        raise InvalidRecordError("product_tree: missing or not an object")
    products, components = _branches(tree.get("branches"))
    joined = _relationships(tree.get("relationships"), products, components)
    tracking = document["document"].get("tracking") or {}
    vulnerabilities = document["vulnerabilities"]
    if not isinstance(vulnerabilities, list):
        raise InvalidRecordError("vulnerabilities: not a list")
    advisories = []
    for index, vulnerability in enumerate(vulnerabilities):
        if not isinstance(vulnerability, dict) or not _CVE.match(str(vulnerability.get("cve", ""))):
            bad.append(f"vulnerabilities[{index}]: no CVE id")
            continue
        advisories.append(_advisory(vulnerability, joined, tracking))
    return advisories


def _branches(branches: Any) -> tuple[dict[str, str], dict[str, PackageURL]]:
    """Product ids with their CPE (products) and with their rpm purl (components), walking the
    nested branches without recursion (a hostile document cannot exhaust the stack)."""
    products: dict[str, str] = {}
    components: dict[str, PackageURL] = {}
    stack: list[tuple[Any, int]] = [(branches, 0)]
    seen = 0
    while stack:
        level, depth = stack.pop()
        if not isinstance(level, list) or depth > _MAX_BRANCH_DEPTH:
            continue
        for branch in level:
            seen += 1
            if seen > _MAX_PRODUCTS:
                raise InvalidRecordError(f"product_tree: more than {_MAX_PRODUCTS} branches")
            if not isinstance(branch, dict):
                continue
            product = branch.get("product")
            helper = product.get("product_identification_helper") if isinstance(product, dict) else None
            if isinstance(helper, dict) and isinstance(product.get("product_id"), str):
                if isinstance(helper.get("cpe"), str):
                    products[product["product_id"]] = helper["cpe"]
                elif isinstance(helper.get("purl"), str):
                    purl = _rpm_purl(helper["purl"])
                    if purl is not None:
                        components[product["product_id"]] = purl
            stack.append((branch.get("branches"), depth + 1))
    return products, components


def _rpm_purl(text: str) -> PackageURL | None:
    try:
        purl = PackageURL.from_string(text)
    except ValueError:
        return None
    return purl if purl.type == "rpm" and purl.namespace == "redhat" else None


class _Component:
    """A full product id resolved: which package, in which release and product stream."""

    __slots__ = ("name", "product", "release", "version")

    def __init__(self, purl: PackageURL, release: str, product: str) -> None:
        qualifiers = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
        self.name = (SOURCE_PREFIX + purl.name) if qualifiers.get("arch") == "src" else purl.name
        epoch = qualifiers.get("epoch")
        self.version = (f"{epoch}:{purl.version}" if epoch and epoch != "0" else purl.version) if purl.version else None
        self.release = release
        self.product = product


def _relationships(relationships: Any, products: dict[str, str],
                   components: dict[str, PackageURL]) -> dict[str, _Component]:
    joined: dict[str, _Component] = {}
    for relation in relationships if isinstance(relationships, list) else []:
        if not isinstance(relation, dict):
            continue
        full = relation.get("full_product_name")
        full_id = full.get("product_id") if isinstance(full, dict) else None
        purl = components.get(relation.get("product_reference"))  # type: ignore[arg-type]
        cpe = products.get(relation.get("relates_to_product_reference"))  # type: ignore[arg-type]
        if not isinstance(full_id, str) or purl is None or cpe is None:
            continue  # not an rpm, or not under a product with a CPE
        scope = cpe_scope(cpe)
        if scope is not None:
            joined[full_id] = _Component(purl, *scope)
    return joined


def _advisory(vulnerability: dict, joined: dict[str, _Component], tracking: dict) -> Advisory:
    cve = vulnerability["cve"]
    status = vulnerability.get("product_status") if isinstance(vulnerability.get("product_status"), dict) else {}
    remedies = _remediations(vulnerability.get("remediations"))
    impacts, default_impact = _threats(vulnerability.get("threats"))
    entries: dict[tuple, AffectedPackage] = {}

    def add(product_id: str, fix_status: FixStatus, fixed: bool = False) -> None:
        component = joined.get(product_id)
        if component is None:
            return
        if fixed and component.version is None:
            return  # a fixed statement without a version cannot be compared
        severity = impacts.get(product_id, default_impact) if fix_status is not FixStatus.NOT_AFFECTED else None
        if fixed:
            events = [Event(kind="introduced", version="0"), Event(kind="fixed", version=component.version)]
        else:
            events = [Event(kind="introduced", version="0")]
        ranges = [] if fix_status is FixStatus.NOT_AFFECTED else [Range(events=events)]
        advisory_id = remedies.get(product_id, ("", "", None))[2] if fixed else None
        entry = AffectedPackage(ecosystem="Red Hat", release=component.release, name=component.name, ranges=ranges,
                                status=fix_status, severity=severity, product=component.product,
                                fix_advisory=advisory_id)
        entries.setdefault((component.release, component.name, component.product, fix_status,
                            component.version if fixed else None), entry)

    for product_id in _ids(status.get("fixed")):
        add(product_id, FixStatus.FIXED, fixed=True)
    for product_id in _ids(status.get("known_affected")):
        category, details, _ = remedies.get(product_id, ("none_available", "affected", None))
        add(product_id, _UNFIXED.get((category, details.lower()), FixStatus.AFFECTED))
    for product_id in _ids(status.get("known_not_affected")):
        add(product_id, FixStatus.NOT_AFFECTED)
    for product_id in _ids(status.get("under_investigation")):
        add(product_id, FixStatus.UNDER_INVESTIGATION)
    return Advisory(
        id=cve, source=SOURCE, summary=_summary(vulnerability),
        published=tracking.get("initial_release_date") or vulnerability.get("release_date"),
        modified=tracking.get("current_release_date"),
        severities=_scores(vulnerability.get("scores")),
        affected=sorted(entries.values(), key=lambda e: (e.release, e.name, e.product or "", e.status or "")),
    )


def _ids(values: Any) -> list[str]:
    return [v for v in values if isinstance(v, str)] if isinstance(values, list) else []


def _remediations(remediations: Any) -> dict[str, tuple[str, str, str | None]]:
    """Per product id: (category, details, RHSA id). A ``workaround`` is no fix status and is
    skipped; a vendor_fix names its advisory in the URL (``.../errata/RHSA-2024:1234``)."""
    found: dict[str, tuple[str, str, str | None]] = {}
    for remedy in remediations if isinstance(remediations, list) else []:
        if not isinstance(remedy, dict) or remedy.get("category") not in ("vendor_fix", "none_available",
                                                                          "no_fix_planned"):
            continue
        advisory = _RHSA.search(str(remedy.get("url") or "")) if remedy["category"] == "vendor_fix" else None
        value = (remedy["category"], str(remedy.get("details") or "").strip(), advisory[0] if advisory else None)
        for product_id in _ids(remedy.get("product_ids")):
            found.setdefault(product_id, value)
    return found


def _threats(threats: Any) -> tuple[dict[str, str], str | None]:
    """Red Hat's impact per product id, and the one given for every product."""
    per_product: dict[str, str] = {}
    default = None
    for threat in threats if isinstance(threats, list) else []:
        if not isinstance(threat, dict) or threat.get("category") != "impact":
            continue
        level = _IMPACT.get(str(threat.get("details") or "").strip().lower())
        if level is None:
            continue
        ids = _ids(threat.get("product_ids"))
        if not ids:
            default = default or level
        for product_id in ids:
            per_product.setdefault(product_id, level)
    return per_product, default


def _scores(scores: Any) -> list[Severity]:
    vectors = []
    for score in scores if isinstance(scores, list) else []:
        for key, kind in (("cvss_v3", "CVSS_V3"), ("cvss_v4", "CVSS_V4"), ("cvss_v2", "CVSS_V2")):
            vector = score.get(key, {}).get("vectorString") if isinstance(score, dict) and isinstance(
                score.get(key), dict) else None
            if isinstance(vector, str) and Severity(type=kind, score=vector) not in vectors:
                vectors.append(Severity(type=kind, score=vector))
    return vectors


def _summary(vulnerability: dict) -> str | None:
    notes = vulnerability.get("notes") if isinstance(vulnerability.get("notes"), list) else []
    by_category = {n.get("category"): n.get("text") for n in notes if isinstance(n, dict)}
    text = by_category.get("summary") or by_category.get("description") or vulnerability.get("title")
    return text.strip()[:300] if isinstance(text, str) and text.strip() else None


_LISTED = re.compile(r'^"?(?P<path>(?:\d{4}/)?cve-(?P<year>\d{4})-(?P<number>\d{4,})\.json)"?\s*,\s*"?(?P<at>[^",]*)"?\s*$',
                     re.IGNORECASE)


def listed_documents(text: str, notes: list[str]) -> list[tuple[str, str, str]]:
    """(path, CVE id, time) of each line of Red Hat's ``changes.csv`` / ``deletions.csv``
    (``"2024/cve-2024-1234.json","2024-09-13T20:58:30+00:00"``)."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _LISTED.match(line.strip())
        if match is None:
            notes.append(f"line {number}: not a path,time pair of a VEX document")
            continue
        rows.append((match["path"], f"CVE-{match['year']}-{match['number']}", match["at"]))
    return rows


def withdrawn_documents(text: str, notes: list[str]) -> list[Advisory]:
    """``deletions.csv``: every VEX document it lists is withdrawn (its statements removed)."""
    return [Advisory(id=cve, source=SOURCE, withdrawn=at or "deleted")
            for _, cve, at in listed_documents(text, notes)]
