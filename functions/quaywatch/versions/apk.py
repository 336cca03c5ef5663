"""Alpine apk versions, ordered as apk-tools' ``src/version.c`` does.

univers 32.0.1 gets apk wrong (its issue #172: ``1.2.0-r0 <= 1.10.0-r0`` is False; leading
zeros and ``~hash`` raise), so this walks the same token grammar as apk-tools:
``digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]``. Suffixes order
``_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p``; a component after
a dot that starts with zeros is compared as a fraction (leading zeros count); a number of 18
digits or more is invalid. Tests replay apk-tools' ``test/version.data``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cmp_to_key

from quaywatch.versions.base import InvalidVersionError, VersionScheme

# Token kinds, in apk-tools' order: when two versions agree up to a point and then continue
# with different kinds of token, the one continuing with the *later* kind is the smaller
# (so an invalid continuation, -1, counts as bigger, as in apk-tools).
INVALID = -1
DIGIT_OR_ZERO, DIGIT, LETTER, SUFFIX, SUFFIX_NO, COMMIT_HASH, REVISION_NO, END = range(8)
_PRE = ("alpha", "beta", "pre", "rc")
_POST = ("cvs", "svn", "git", "hg", "p")
_HEX = frozenset("0123456789abcdef")
MAX_DIGITS = 18


def _tokens(text: str) -> Iterator[tuple[int, int]]:
    """(kind, value) pairs; the last one has kind END or INVALID."""
    kind, i, n = DIGIT, 0, len(text)
    while True:
        if i >= n:
            yield END, 0
            return
        value = 0
        if kind == DIGIT_OR_ZERO and text[i] == "0":
            # A component after "." that starts with zeros: a token worth -(zeros beyond the
            # first), then the last zero and what follows read as a plain number, as
            # apk-tools' get_token does: 1.002 < 1.02 < 1.1, and 6.0_pre1 < 6.0.
            start = i
            while i + 1 < n and text[i + 1] == "0":
                i += 1
            yield DIGIT, start - i
            kind = DIGIT
            continue
        if kind in (DIGIT_OR_ZERO, DIGIT, SUFFIX_NO, REVISION_NO):
            start = i
            while i < n and text[i].isdigit():
                i += 1
            if i - start >= MAX_DIGITS:  # apk-tools keeps numbers in an int64: longer ones are invalid
                yield INVALID, 0
                return
            value = int(text[start:i]) if i > start else 0  # apk reads no digits as 0
        elif kind == LETTER:
            value = ord(text[i])
            i += 1
        elif kind == SUFFIX:
            value, width = _suffix(text, i)
            if width == 0:
                yield INVALID, 0
                return
            i += width
        elif kind == COMMIT_HASH:
            start = i
            while i < n and text[i] in _HEX:
                i += 1
            if i == start:
                yield INVALID, 0
                return
            value = 0  # a commit hash identifies, it does not order
        yield kind, value
        if i >= n:
            yield END, 0
            return
        new_kind = _next_kind(kind, text, i)
        if new_kind == INVALID:
            yield INVALID, 0
            return
        i += _separator_width(text, i, new_kind)
        kind = new_kind


def _suffix(text: str, i: int) -> tuple[int, int]:
    for index, name in enumerate(_PRE):
        if text.startswith(name, i):
            return index - len(_PRE), len(name)
    for index, name in enumerate(_POST):
        if text.startswith(name, i):
            return index, len(name)
    return 0, 0


def _next_kind(kind: int, text: str, i: int) -> int:
    char = text[i]
    if kind in (DIGIT, DIGIT_OR_ZERO) and char.islower():
        new = LETTER
    elif kind == LETTER and char.isdigit():
        new = DIGIT
    elif kind == SUFFIX and char.isdigit():
        new = SUFFIX_NO
    elif char == ".":
        new = DIGIT_OR_ZERO
    elif char == "_":
        new = SUFFIX
    elif char == "~":
        new = COMMIT_HASH
    elif char == "-" and text.startswith("-r", i):
        new = REVISION_NO
    else:
        return INVALID
    allowed_backwards = {(DIGIT_OR_ZERO, DIGIT), (SUFFIX, SUFFIX_NO), (DIGIT, LETTER)}
    if new < kind and (new, kind) not in allowed_backwards:
        return INVALID
    return new


def _separator_width(text: str, i: int, kind: int) -> int:
    if kind in (LETTER, SUFFIX_NO) or (kind == DIGIT and text[i].isdigit()):
        return 0  # no separator character: the token starts right here
    return 2 if kind == REVISION_NO else 1


def compare_apk(left: str, right: str) -> int:
    """apk's three-way comparison (works on invalid versions the way apk-tools does)."""
    a_tokens, b_tokens = _tokens(left), _tokens(right)
    while True:
        a_kind, a_value = next(a_tokens)
        b_kind, b_value = next(b_tokens)
        if a_kind != b_kind or a_value != b_value or a_kind in (END, INVALID):
            break
    if a_value != b_value and a_kind == b_kind:
        return -1 if a_value < b_value else 1
    if a_kind == b_kind:
        return 0
    # Equal so far; the one that goes on is bigger, unless it goes on with a pre-release suffix.
    if a_kind == SUFFIX and a_value < 0:
        return -1
    if b_kind == SUFFIX and b_value < 0:
        return 1
    return -1 if a_kind > b_kind else 1


def is_valid_apk(version: str) -> bool:
    *_, (last, _) = _tokens(version)  # the final token says END or INVALID
    return last == END


_ORDER = cmp_to_key(compare_apk)


class ApkScheme(VersionScheme):
    name = "apk"

    def parse(self, version: str) -> object:
        if not version or not is_valid_apk(version):
            raise InvalidVersionError(f"invalid apk version {version!r}")
        return _ORDER(version)  # apk ordering is not a plain tuple ordering: compare pairwise

    def compare(self, left: str, right: str) -> int:
        return compare_apk(left, right)
