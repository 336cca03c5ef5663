"""Maven versions, ordered like Maven's ``ComparableVersion``.

A version is a list of items: integers, qualifiers and nested lists (a ``-`` or a
digit/letter transition opens a sub-list). Qualifiers order
``alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp``, unknown
qualifiers after those, alphabetically; ``a1``/``b1``/``m1`` mean alpha/beta/milestone.
Trailing zeros and release qualifiers are dropped ("normalised"), so ``1 = 1.0 = 1-ga``.
It follows Maven 3.9: a dot before a qualifier counts as a hyphen (MNG-7644,
``2.0.rc == 2-rc``), ``release`` is an alias of the release qualifier. univers' MavenVersion
implements the Maven 3.6 rules and fails 45 of the current ``ComparableVersionTest`` cases
(tests/fixtures/version-vectors/maven.txt), hence this implementation, which passes them.
"""

from __future__ import annotations

from functools import cmp_to_key

from quaywatch.versions.base import InvalidVersionError, VersionScheme

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE_INDEX = str(_QUALIFIERS.index(""))


class _Int(int):
    pass


class _Str(str):
    pass


def _qualifier_key(value: str) -> str:
    if value in _QUALIFIERS:
        return str(_QUALIFIERS.index(value))
    return f"{len(_QUALIFIERS)}-{value}"


def _make_string(value: str, followed_by_digit: bool) -> _Str:
    if followed_by_digit and len(value) == 1:
        value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
    return _Str(_ALIASES.get(value, value))


def _is_null(item: object) -> bool:
    if isinstance(item, _Int):
        return item == 0
    if isinstance(item, _Str):
        return _qualifier_key(item) == _RELEASE_INDEX
    return isinstance(item, list) and not item


def _normalise(items: list) -> None:
    """Drop trailing nulls (0, release qualifiers, empty lists) from the end, looking through
    trailing sub-lists; a release qualifier with something after it stays (MNG-7714:
    ``1.0.final-redhat < 1.0-sp1-redhat``)."""
    for index in range(len(items) - 1, -1, -1):
        if _is_null(items[index]):
            if isinstance(items[index], _Str) and index != len(items) - 1:
                continue
            del items[index]
        elif not isinstance(items[index], list):
            break


def _qualifier_follows(text: str, i: int) -> bool:
    return i + 1 < len(text) and not text[i + 1].isdigit() and text[i + 1] not in ".-"


def parse_maven(version: str) -> list:
    text = version.strip().lower()
    if not text:
        raise InvalidVersionError("empty Maven version")
    root: list = []
    lists = [root]  # every (sub-)list, normalised innermost first at the end
    start = 0
    is_digit = False

    def close_item(end: int, new_list: bool, value: object) -> None:
        nonlocal start
        lists[-1].append(value)
        start = end
        if new_list:
            sub: list = []
            lists[-1].append(sub)
            lists.append(sub)

    def token(end: int) -> object:
        if end == start:
            return _Int(0)
        return _Int(int(text[start:end])) if is_digit else _make_string(text[start:end], False)

    for i, char in enumerate(text):
        if char == "." and not _qualifier_follows(text, i):
            close_item(i + 1, False, token(i))
        elif char in "-.":  # a dot before a qualifier counts as a hyphen (MNG-7644)
            close_item(i + 1, True, token(i))
        elif char.isdigit():
            if not is_digit and i > start:  # letters then digits: "alpha1" -> alpha, [1]
                close_item(i, True, _make_string(text[start:i], True))
            is_digit = True
        else:
            if is_digit and i > start:  # digits then letters: "1a" -> 1, [a]
                close_item(i, True, _Int(int(text[start:i])))
            is_digit = False
    if len(text) > start:
        lists[-1].append(token(len(text)))
    for items in reversed(lists):
        _normalise(items)
    return root


def _compare(left: object, right: object) -> int:
    """ComparableVersion's item comparison; ``None`` stands for a missing item."""
    if left is None:
        return -_compare(right, None) if right is not None else 0
    if isinstance(left, _Int):
        if right is None:
            return 0 if left == 0 else 1
        if isinstance(right, _Int):
            return (left > right) - (left < right)
        return 1  # a number beats a qualifier and a sub-list
    if isinstance(left, _Str):
        if right is None:
            a, b = _qualifier_key(left), _RELEASE_INDEX
            return (a > b) - (a < b)
        if isinstance(right, _Str):
            a, b = _qualifier_key(left), _qualifier_key(right)
            return (a > b) - (a < b)
        return -1  # a qualifier is below a number and below a sub-list
    assert isinstance(left, list)
    if right is None:
        return _compare(left[0], None) if left else 0
    if isinstance(right, _Int):
        return -1
    if isinstance(right, _Str):
        return 1
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else None
        b = right[index] if index < len(right) else None
        result = _compare(a, b)
        if result:
            return result
    return 0


_ORDER = cmp_to_key(_compare)


class MavenScheme(VersionScheme):
    name = "maven"

    def parse(self, version: str) -> object:
        return _ORDER(parse_maven(version))
