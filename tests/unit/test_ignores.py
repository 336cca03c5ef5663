"""Ignore rules: by id or alias, optionally by package, until a date."""

from __future__ import annotations

from datetime import date

import pytest
from quaywatch.advisories.models import FixStatus
from quaywatch.errors import UsageError
from quaywatch.matching.ignores import IgnoreRule, apply_ignores, load_ignore_file
from quaywatch.matching.models import Finding


def finding(vid: str, package: str, aliases: tuple[str, ...] = (), matched_as: str | None = None) -> Finding:
    return Finding(id=vid, aliases=list(aliases), package=package, package_type="deb", installed_version="1",
                   matched_as=matched_as or package, matched_version="1", ecosystem="Debian", status=FixStatus.FIXED,
                   severity="high", severity_source="debian", origin="os", path="var/lib/dpkg/status")


def test_rules_match_by_id_alias_and_package() -> None:
    findings = [finding("CVE-1", "libssl3", matched_as="openssl"), finding("CVE-1", "curl"),
                finding("CVE-2", "zlib1g", aliases=("DSA-9",)), finding("CVE-3", "bash")]
    rules = [IgnoreRule(id="CVE-1", package="openssl", reason="source package"),
             IgnoreRule(id="DSA-9", reason="by alias"),
             IgnoreRule(id="CVE-3", reason="lapsed", expires=date(2020, 1, 1))]
    result = apply_ignores(findings, rules, today=date(2026, 12, 2))
    assert [f.ignored.reason if f.ignored else None for f in findings] == ["source package", None, "by alias", None]
    assert result.ignored == 2 and [r.id for r in result.expired] == ["CVE-3"]
    assert apply_ignores(findings, rules, today=date(2019, 12, 31)).ignored == 3  # before its date it applies
    assert "ignored" not in findings[1].document() and findings[2].document()["ignored"]["reason"] == "by alias"


@pytest.mark.parametrize(("text", "problem"), [
    ("ignores: [{id: CVE-1}]", "ignores.0.reason: Field required"),
    ("ignores: [{id: CVE-1, reason: x, expires: someday}]", "ignores.0.expires"),
    ("ignores: [{id: CVE-1, reason: x, colour: red}]", "ignores.0.colour"),
    ("ignores: [unclosed", "not valid YAML"),
])
def test_malformed_files_are_usage_errors(tmp_path, text, problem) -> None:
    path = tmp_path / "ignores.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=problem):
        load_ignore_file(path)


def test_an_empty_file_ignores_nothing(tmp_path) -> None:
    path = tmp_path / "ignores.yaml"
    path.write_text("")
    assert load_ignore_file(path) == []
