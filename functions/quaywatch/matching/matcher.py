"""Match an inventory against the advisory store.

Rules (see the advisory issue and SPEC section 4):
- distro packages are looked up in the image's own distro release only: Debian and Ubuntu
  by source package and source version, Alpine by origin, RPM distros by binary name;
- language packages (PyPI with PEP 503 names, npm, Maven, Go) whatever the distro;
- each ecosystem's own version rules; a version that cannot be ordered yields a warning and
  no finding for that package;
- the same vulnerability from several advisories (aliases, several feeds) is one finding per
  package; a distro's own feed (Debian tracker, Alpine secdb, Red Hat VEX) decides over OSV
  for its packages, including "not affected"; within it a statement naming the binary package
  decides over one naming its source package;
- statements scoped to a product stream (Red Hat's CPEs) apply where the image's content sets
  say it comes from (``distros.base.ProductScope``);
- every finding says whether a fix exists (``status``); "under investigation" statements make
  no finding unless asked for;
- severity by precedence (``matching.severity``): the distro's rating, GitHub's advisory,
  other ecosystem databases, then the ratings NVD, the CNA and ADPs give the finding's CVEs;
  KEV and EPSS are read by the same CVE ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from quaywatch.advisories.ecosystems import (
    DISTRO_ECOSYSTEMS,
    PackageKey,
    extra_keys,
    image_distro,
    package_key,
)
from quaywatch.advisories.models import FixStatus
from quaywatch.advisories.store import (
    CVE_ID,
    AdvisoryMeta,
    AdvisoryStore,
    ExploitSignals,
    StoredAffected,
)
from quaywatch.distros import by_ecosystem, feed_authority
from quaywatch.distros.base import SOURCE_PREFIX, ProductScope
from quaywatch.inventory.models import Inventory, Package
from quaywatch.matching.collector import collector_paused
from quaywatch.matching.models import ExploitScore, Finding, MatchReport
from quaywatch.matching.ranges import Verdict, evaluate
from quaywatch.matching.severity import Claim, score_claims
from quaywatch.versions import InvalidVersionError, scheme_for
from quaywatch.versions.base import VersionScheme


@dataclass
class _Candidate:
    stored: StoredAffected
    verdict: Verdict
    vendor_severity: str | None
    product: str | None = None  # the product stream the statement is scoped to
    specific: bool = True  # stated under the package's own name (not its source package's)
    fix_advisory: str | None = None
    matched: tuple[str, str] = ("", "")  # the name and version the statement was compared with


def match_inventory(inventory: Inventory, store: AdvisoryStore, under_investigation: bool = False) -> MatchReport:
    """The findings of an inventory; ``under_investigation`` adds those whose deciding
    statement is still being investigated (no finding by default)."""
    with collector_paused():
        return _match(inventory, store, under_investigation)


def _match(inventory: Inventory, store: AdvisoryStore, under_investigation: bool) -> MatchReport:
    distro = image_distro(inventory.os)
    report = MatchReport(distro=f"{distro[0]}:{distro[1]}" if distro else None)
    keyed: list[tuple[Package, list[tuple[PackageKey, str]]]] = []
    for package in inventory.packages:
        resolved = package_key(package, distro)
        if resolved is not None:
            keyed.append((package, [resolved, *extra_keys(package, distro)]))
    if inventory.os is not None and distro is None and any(p.type in ("deb", "apk", "rpm") for p in inventory.packages):
        report.warnings.append(
            f"OS packages not matched: no advisory feed is known for {inventory.os.id} {inventory.os.version_id or ''}".strip()
        )
    scope = _scope(inventory, distro, store)
    stored = store.lookup({key for _, keys in keyed for key, _ in keys})
    per_package: list[tuple[Package, PackageKey, str, list[_Candidate]]] = []
    refs: set[tuple[str, str]] = set()
    for package, keys in keyed:
        candidates = [candidate for index, (key, version) in enumerate(keys)
                      for candidate in _candidates(package, key, version, stored.get(key, []), report, index == 0)]
        if any(c.verdict.affected for c in candidates):
            per_package.append((package, *keys[0], candidates))
            refs.update((c.stored.source, c.stored.advisory_id) for c in candidates)
    metas = store.advisories(refs)
    drafts = [draft for package, key, version, candidates in per_package
              for draft in _findings(package, key, version, candidates, metas, scope, under_investigation)]
    cves = {cve for draft, _ in drafts for cve in _cves(draft)}
    ratings = store.ratings(cves)
    signals = store.exploit_signals(cves)
    report.findings = [_rated(draft, claims, ratings, signals) for draft, claims in drafts]
    report.findings.sort(key=lambda f: (f.package, f.installed_version, f.id, f.path))
    return report


def _scope(inventory: Inventory, distro: tuple[str, str] | None, store: AdvisoryStore) -> ProductScope | None:
    distribution = by_ecosystem(distro[0]) if distro else None
    if distribution is None or inventory.os is None:
        return None
    content_sets = inventory.os.content_sets
    return distribution.product_scope(distro[1], content_sets,
                                      store.repository_cpes(content_sets) if content_sets else {})


def _cves(draft: dict) -> list[str]:
    """A draft finding's CVE ids, its own id first: what NVD, CVE records, KEV and EPSS are keyed by."""
    return [i for i in (draft["id"], *draft["aliases"]) if CVE_ID.match(i)]


def _rated(draft: dict, claims: list[Claim], ratings: dict, signals: dict[str, ExploitSignals]) -> Finding:
    """The finding, with its severity by precedence and its exploit signals, built once
    (pydantic's validation in Rust is quicker than ``model_construct`` or a ``model_copy``)."""
    cves = _cves(draft)
    claims = claims + [Claim(r.source, r.severity, tuple(r.vectors)) for cve in cves for r in ratings.get(cve, [])]
    score = score_claims(claims)
    summary = draft.pop("summary") or next((r.summary for cve in cves for r in ratings.get(cve, []) if r.summary),
                                           None)
    found = [signals[cve] for cve in cves if cve in signals]
    kev = next((s.known_exploited for s in found if s.known_exploited), None)
    prediction = max((s.prediction for s in found if s.prediction), key=lambda p: p.score, default=None)
    return Finding(
        **draft, summary=summary, severity=score.severity, severity_source=score.source,
        cvss_score=score.cvss_score, cvss_vector=score.cvss_vector, cvss_source=score.cvss_source,
        kev=kev is not None, kev_date_added=kev.date_added if kev else None,
        epss=ExploitScore(score=prediction.score, percentile=prediction.percentile, date=prediction.date)
        if prediction else None,
    )


def _claim(key: PackageKey, candidate: _Candidate, meta: AdvisoryMeta | None) -> Claim:
    vectors = tuple(meta.severities) if meta else ()
    distribution = by_ecosystem(key.ecosystem)
    if distribution is not None:
        return Claim(distribution.rating_source, candidate.vendor_severity, vectors, distro=True)
    return Claim(_database(candidate.stored.advisory_id), candidate.vendor_severity, vectors)


def _database(advisory_id: str) -> str:
    """The database an OSV record comes from, by its id prefix (OSV's convention)."""
    prefix = advisory_id.split("-", 1)[0].upper()
    return {"GHSA": "ghsa", "PYSEC": "pypa", "CVE": "osv"}.get(prefix, prefix.lower())


def _candidates(
    package: Package, key: PackageKey, version: str, stored: list[StoredAffected], report: MatchReport,
    specific: bool = True,
) -> list[_Candidate]:
    scheme = scheme_for(key.ecosystem)
    if scheme is None or not stored:
        return []
    result = []
    for item in stored:
        try:
            verdicts = _verdicts(item, version, scheme)
        except InvalidVersionError as exc:
            report.warnings.append(f"{package.name} {version} ({package.path}): {exc}; not matched")
            return []
        for entry, verdict in zip(item.entries, verdicts, strict=True):
            result.append(_Candidate(item, verdict, entry.severity, entry.product, specific, entry.fix_advisory,
                                     (key.name, version)))
    return result


_VERDICT_LIMIT = 200_000
_verdict_memo: dict[tuple[str, str, str], tuple[Verdict, ...]] = {}


def _verdicts(item: StoredAffected, version: str, scheme: VersionScheme) -> tuple[Verdict, ...]:
    """The verdict of each of an advisory's entries on an installed version, memoised by the
    entries' content digest: across the images of one organisation (and every re-test) the same
    package versions meet the same advisory rows again and again."""
    memo_key = (item.digest, scheme.name, version)
    found = _verdict_memo.get(memo_key) if item.digest else None
    if found is None:
        found = tuple(evaluate(version, entry, scheme) for entry in item.entries)
        if item.digest:
            if len(_verdict_memo) >= _VERDICT_LIMIT:
                _verdict_memo.clear()
            _verdict_memo[memo_key] = found
    return found


def _vulnerability_id(advisory_id: str, meta: AdvisoryMeta | None) -> str:
    """Group key: the CVE when the advisory is or aliases exactly one CVE, else its own id."""
    if meta is not None:
        return meta.cve or advisory_id
    return advisory_id


def _findings(
    package: Package, key: PackageKey, version: str, candidates: list[_Candidate],
    metas: dict[tuple[str, str], AdvisoryMeta], scope: ProductScope | None = None,
    under_investigation: bool = False,
) -> list[tuple[dict, list[Claim]]]:
    """Draft findings (their fields), one per vulnerability, with the claims of the package
    feeds on them; ``_rated`` adds the CVE-keyed ratings, decides and builds the finding."""
    groups: dict[str, list[_Candidate]] = defaultdict(list)
    for candidate in candidates:
        meta = metas.get((candidate.stored.source, candidate.stored.advisory_id))
        groups[_vulnerability_id(candidate.stored.advisory_id, meta)].append(candidate)
    findings = []
    for vulnerability_id, group in groups.items():
        if not any(c.verdict.affected for c in group):
            continue  # nobody says affected: no finding, whoever decides
        group = _in_scope(group, scope)
        if not group:
            continue
        top = max(feed_authority(c.stored.source) for c in group)
        deciding = [c for c in group if feed_authority(c.stored.source) == top]
        if any(c.specific for c in deciding):
            deciding = [c for c in deciding if c.specific]  # the binary package's own statement decides
        affected = [c for c in deciding if c.verdict.affected]
        if not affected:
            continue  # the deciding feed says this package is fixed or never affected
        chosen = min(affected, key=_fix_preference)
        if chosen.verdict.status is FixStatus.UNDER_INVESTIGATION and not under_investigation:
            continue
        related = [metas.get((c.stored.source, c.stored.advisory_id)) for c in group]
        aliases = sorted(
            ({a for m in related if m for a in m.aliases} | {c.stored.advisory_id for c in group}) - {vulnerability_id}
        )
        in_order = deciding + [c for c in group if c not in deciding]
        claims = [_claim(key, c, metas.get((c.stored.source, c.stored.advisory_id))) for c in in_order]
        summary = next((m.summary for m in related if m and m.summary), None)
        findings.append(({
            "id": vulnerability_id,
            "aliases": aliases,
            "summary": summary,
            "package": package.full_name,
            "package_type": package.type,
            "installed_version": package.version,
            "matched_as": _unprefixed(chosen.matched[0]) or key.name,
            "matched_version": chosen.matched[1] or version,
            "ecosystem": key.ecosystem,
            "release": key.release,
            "purl": package.purl,
            "status": chosen.verdict.status,
            "fixed_version": chosen.verdict.fixed_version,
            "fix_advisory": chosen.fix_advisory if chosen.verdict.status is FixStatus.FIXED else None,
            "origin": "os" if key.ecosystem in DISTRO_ECOSYSTEMS else "application",
            "path": package.path,
            "layer": package.layer,
            "advisories": sorted({f"{c.stored.source}:{c.stored.advisory_id}" for c in group}),
        }, claims))
    return findings


def _unprefixed(name: str) -> str:
    """``src:glibc`` (a statement on the source rpm) is shown as the source package's name."""
    return name.removeprefix(SOURCE_PREFIX)


def _in_scope(group: list[_Candidate], scope: ProductScope | None) -> list[_Candidate]:
    """The statements that apply to the image's product streams (all, when nothing is scoped)."""
    if scope is None or all(c.product is None for c in group):
        return group
    return [c for c, keep in zip(group, scope.select([c.product for c in group]), strict=True) if keep]


_PREFERENCE = {FixStatus.FIXED: 0, FixStatus.UNDER_INVESTIGATION: 2}


def _fix_preference(candidate: _Candidate) -> tuple[int, str]:
    """Prefer a verdict with a fixed version (among those any: they agree in practice), then
    a stated status, and "under investigation" last."""
    return (_PREFERENCE.get(candidate.verdict.status, 1), candidate.verdict.fixed_version or "")
