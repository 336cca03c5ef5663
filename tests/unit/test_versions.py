"""Version comparators, proven on upstream vectors and by property tests."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from quaywatch.versions import InvalidVersionError, scheme_for
from quaywatch.versions.apk import compare_apk
from quaywatch.versions.registry import APK, DPKG, MAVEN, PEP440, RPM, SEMVER

from tests.support.shared_data import VERSION_VECTORS

OWN_VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "version-vectors"
SIGN = {"<": -1, "=": 0, "==": 0, ">": 1}


def _lines(path: Path) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines() if line.split("#", 1)[0].strip()]


def dpkg_cases() -> list[tuple[str, str, int]]:
    return [(a, b, int(expected)) for a, b, expected in (line.split() for line in _lines(VERSION_VECTORS / "dpkg.txt"))]


def rpm_cases() -> list[tuple[str, str, int]]:
    return [(a, b, SIGN[op]) for a, op, b in (line.split() for line in _lines(VERSION_VECTORS / "rpm.txt"))]


def apk_lines() -> list[list[str]]:
    """apk-tools' test/unit/version.data as of commit 90b974f (apk-tools 3): ``a OP b`` lines
    (``<``, ``=``, ``>``, ``~`` prefix matches, ``<~``, ``>~``, ``!`` negating) and validity
    lines (``version`` valid, ``!version`` invalid)."""
    return [line.split() for line in _lines(OWN_VECTORS / "apk.txt")]


def apk_cases() -> list[tuple[str, str, int]]:
    """The ordering lines: ``a < b``, ``a = b``, ``a > b``."""
    return [(a, b, SIGN[op]) for a, op, b in (words for words in apk_lines() if len(words) == 3 and words[1] in SIGN)]


def maven_cases() -> list[tuple[str, str, int]]:
    cases = []
    for line in _lines(OWN_VECTORS / "maven.txt"):
        if line.startswith("order:"):
            versions = line.split()[1:]
            cases += [(low, high, -1) for low, high in itertools.combinations(versions, 2)]
        else:
            a, op, b = line.split()
            cases.append((a, b, SIGN[op]))
    return cases


def pep440_cases() -> list[tuple[str, str, int]]:
    lines = _lines(OWN_VECTORS / "pep440.txt")
    ordered = [line for line in lines if " " not in line]
    cases = [(low, high, -1) for low, high in itertools.combinations(ordered, 2)]
    return cases + [(a, b, 0) for a, _, b in (line.split() for line in lines if " == " in line)]


def test_vector_files_are_complete() -> None:
    """Guard against silently testing nothing: the upstream files hold this many cases."""
    assert len(dpkg_cases()) == 44
    assert len(rpm_cases()) == 113
    assert len(apk_cases()) == 738 and len(apk_lines()) == 785
    assert len(maven_cases()) >= 600
    assert len(pep440_cases()) == 92 * 91 // 2 + 4


@pytest.mark.parametrize(("left", "right", "expected"), dpkg_cases())
def test_dpkg_upstream_vectors(left: str, right: str, expected: int) -> None:
    assert DPKG.compare(left, right) == expected
    assert DPKG.compare(right, left) == -expected


@pytest.mark.parametrize(("left", "right", "expected"), rpm_cases())
def test_rpm_upstream_vectors(left: str, right: str, expected: int) -> None:
    assert RPM.compare(left, right) == expected


@pytest.mark.parametrize(("left", "right", "expected"), [
    ("1.002", "1.02", -1), ("1.02", "1.1", -1), ("1.0", "1.00", -1), ("6.0_rc1", "6.0", -1), ("2.0_p1", "2.0", 1)])
def test_apk_leading_zeros_in_a_digit_group(left: str, right: str, expected: int) -> None:
    assert compare_apk(left, right) == expected and compare_apk(right, left) == -expected


@pytest.mark.parametrize("words", [w for w in apk_lines() if len(w) != 3 or w[1] not in SIGN], ids=" ".join)
def test_apk_upstream_matches_and_validity(words: list[str]) -> None:
    """apk-tools' other lines: prefix matches (``~``, ``<~``, ``>~``, negated with ``!``) and
    which versions are valid (a bare version) or invalid (``!version``)."""
    from quaywatch.versions.apk import apk_match, is_valid_apk

    if len(words) == 3:
        left, operator, right = words
        assert apk_match(left, operator, right)
    else:
        (version,) = words
        assert is_valid_apk(version.removeprefix("!")) is not version.startswith("!")


@pytest.mark.parametrize(("left", "right", "expected"), apk_cases())
def test_apk_upstream_vectors(left: str, right: str, expected: int) -> None:
    assert compare_apk(left, right) == expected
    assert compare_apk(right, left) == -expected


@pytest.mark.parametrize(("left", "right", "expected"), maven_cases())
def test_maven_upstream_vectors(left: str, right: str, expected: int) -> None:
    assert MAVEN.compare(left, right) == expected
    assert MAVEN.compare(right, left) == -expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.2.0-r0", "1.10.0-r0", -1),  # univers issue #172
        ("01.2", "1.2", 0),  # leading zeros in the first component are just a number
        ("1.1_rc1", "1.1", -1),
        ("1.1", "1.1_p1", -1),
        ("1.1_alpha1", "1.1_beta1", -1),
        ("1.1_beta1", "1.1_pre1", -1),
        ("1.1_pre1", "1.1_rc1", -1),
        ("1.1_cvs1", "1.1_svn1", -1),
        ("1.1_svn1", "1.1_git1", -1),
        ("1.1_git1", "1.1_hg1", -1),
        ("1.1_hg1", "1.1_p1", -1),
        ("1.1a", "1.1b", -1),
        ("1.1-r9", "1.1-r10", -1),
        ("1.2.3_git20240101~a1b2c3-r0", "1.2.3_git20240101~ffff00-r0", -1),  # apk-tools 3: hashes as strings
        ("1.2.3_git20240101~a1b2c3-r0", "1.2.3_git20240102~a1b2c3-r0", -1),
    ],
)
def test_apk_rules_from_version_c(left: str, right: str, expected: int) -> None:
    assert APK.compare(left, right) == expected


def test_pep440_upstream_vectors() -> None:
    wrong = [(a, b, expected) for a, b, expected in pep440_cases() if PEP440.compare(a, b) != expected]
    assert wrong == []


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0.0.RELEASE", "1.0.0", 0),  # univers says otherwise
        ("2.17.0", "2.17.1", -1),
        ("2.15.0-rc1", "2.15.0", -1),
        ("5.3.18", "5.3.9", 1),
    ],
)
def test_maven_common_release_names(left: str, right: str, expected: int) -> None:
    assert MAVEN.compare(left, right) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0", "1.0.0", 0),
        ("1.0a1", "1.0", -1),
        ("1.0.post1", "1.0", 1),
        ("1.0.dev1", "1.0a1", -1),
        ("1!0.1", "2.0", 1),
        ("2.31.0", "2.4.0", 1),
    ],
)
def test_pep440(left: str, right: str, expected: int) -> None:
    assert PEP440.compare(left, right) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1.0.0-alpha", "1.0.0-alpha.1", -1),  # the semver.org precedence example
        ("1.0.0-alpha.1", "1.0.0-alpha.beta", -1),
        ("1.0.0-alpha.beta", "1.0.0-beta", -1),
        ("1.0.0-beta", "1.0.0-beta.2", -1),
        ("1.0.0-beta.2", "1.0.0-beta.11", -1),
        ("1.0.0-beta.11", "1.0.0-rc.1", -1),
        ("1.0.0-rc.1", "1.0.0", -1),
        ("v1.2.3", "1.2.3", 0),  # Go writes the v
        ("2.0.0+incompatible", "2.0.0", 0),  # build metadata never orders
        ("0.0.0-20210101000000-abcdef123456", "0.1.0", -1),  # a Go pseudo-version
        ("1.21", "1.21.0", 0),  # Go toolchain versions may omit the patch
    ],
)
def test_semver(left: str, right: str, expected: int) -> None:
    assert SEMVER.compare(left, right) == expected


@pytest.mark.parametrize(
    ("scheme", "version"),
    [(APK, "1.0bc"), (APK, ""), (PEP440, "not a version"), (SEMVER, "1.2.3.4.5"), (DPKG, "a:1.0"),
     (DPKG, ""), (RPM, "")],
)
def test_invalid_versions_raise_a_specific_error(scheme, version: str) -> None:
    with pytest.raises(InvalidVersionError):
        scheme.key(version)


def test_schemes_by_osv_ecosystem() -> None:
    assert scheme_for("Debian") is DPKG and scheme_for("Ubuntu") is DPKG
    assert scheme_for("Alpine") is APK and scheme_for("Red Hat") is RPM
    assert scheme_for("PyPI") is PEP440 and scheme_for("Maven") is MAVEN
    assert scheme_for("npm") is SEMVER and scheme_for("Go") is SEMVER
    assert scheme_for("crates.io", "SEMVER") is SEMVER
    assert scheme_for("NoSuchEcosystem") is None


# Property tests: on generated versions each comparator is a total order (antisymmetric,
# transitive, consistent with equality), which sorting and range checks rely on.
_num = st.integers(min_value=0, max_value=30).map(str)
_dpkg = st.builds(
    lambda epoch, parts, tilde, rev: f"{epoch}{'.'.join(parts)}{tilde}{rev}",
    st.sampled_from(["", "1:", "2:"]),
    st.lists(st.one_of(_num, st.sampled_from(["a", "b1", "0z", "+dfsg"])), min_size=1, max_size=4),
    st.sampled_from(["", "~rc1", "~~", "+b1"]),
    st.sampled_from(["", "-1", "-1~deb12u1", "-0ubuntu0.22.04.1", "-10"]),
)
_apk = st.builds(
    lambda parts, letter, suffix, rev: f"{'.'.join(parts)}{letter}{suffix}{rev}",
    st.lists(st.one_of(_num, st.sampled_from(["01", "002"])), min_size=1, max_size=4),
    st.sampled_from(["", "a", "z"]),
    st.sampled_from(["", "_alpha", "_beta2", "_pre1", "_rc3", "_cvs", "_git20240101", "_p1", "_rc1_p2"]),
    st.sampled_from(["", "-r0", "-r1", "-r10"]),
)
_rpm = st.builds(
    lambda epoch, parts, extra, rel: f"{epoch}{'.'.join(parts)}{extra}-{rel}",
    st.sampled_from(["", "1:"]),
    st.lists(_num, min_size=1, max_size=4),
    st.sampled_from(["", "~rc1", "^git1", "a"]),
    st.sampled_from(["1.el9", "27.el9_4", "2.fc40", "1"]),
)
_maven = st.builds(
    lambda parts, qualifier: f"{'.'.join(parts)}{qualifier}",
    st.lists(_num, min_size=1, max_size=4),
    st.sampled_from(["", "-SNAPSHOT", "-alpha-1", "-beta2", "-rc1", ".RELEASE", ".Final", "-sp1", "-1", "-jre", "a1"]),
)
_pep440 = st.builds(
    lambda parts, suffix: f"{'.'.join(parts)}{suffix}",
    st.lists(_num, min_size=1, max_size=4),
    st.sampled_from(["", "a1", "b2", "rc1", ".post1", ".dev3", "rc1.post2.dev1"]),
)
_semver = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}{pre}", _num, _num, _num,
    st.sampled_from(["", "-alpha", "-alpha.1", "-beta.11", "-rc.1", "-0.3.7", "+build.5"]),
)


@pytest.mark.parametrize(
    ("scheme", "strategy"),
    [(DPKG, _dpkg), (APK, _apk), (RPM, _rpm), (MAVEN, _maven), (PEP440, _pep440), (SEMVER, _semver)],
    ids=["dpkg", "apk", "rpm", "maven", "pep440", "semver"],
)
def test_comparators_are_total_orders(scheme, strategy) -> None:
    @settings(max_examples=150, deadline=None)
    @given(strategy, strategy, strategy)
    def check(a: str, b: str, c: str) -> None:
        ab, ba = scheme.compare(a, b), scheme.compare(b, a)
        assert ab == -ba
        assert scheme.compare(a, a) == 0
        if ab <= 0 and scheme.compare(b, c) <= 0:
            assert scheme.compare(a, c) <= 0
        if ab == 0:
            assert scheme.compare(a, c) == scheme.compare(b, c)

    check()
