"""Alpine apk versions, ordered as apk-tools 3 (``src/version.c``) orders them.

univers 32.0.1 gets apk wrong (its issue #172: ``1.2.0-r0 <= 1.10.0-r0`` is False; leading
zeros and ``~hash`` raise), so this walks apk-tools' own token grammar:
``digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]``. Each token may only follow the kinds
before it (a letter right after a digit group, a suffix before a hash, a revision last);
anything else makes the rest of the version invalid. Tokens compare by kind: numbers as
numbers, except that a digit group after a dot starting with ``0`` compares as a string with
the other (``8.2.0015 < 8.2.002``), as the Gentoo rules do; letters by character; suffixes in
the order ``_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p``; commit
hashes as strings. When one version ends where the other goes on, the longer is the greater
unless it goes on with a pre-release suffix. Tests replay every line of apk-tools' current
``test/unit/version.data`` (orderings, ``~`` prefix matches, validity).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cmp_to_key

from quaywatch.versions.base import InvalidVersionError, VersionScheme

# Token kinds, in apk-tools' order: when two versions agree up to a point and then go on with
# different kinds, the one going on with the *later* kind is the smaller (END and INVALID last).
INITIAL_DIGIT, DIGIT, LETTER, SUFFIX, SUFFIX_NO, COMMIT_HASH, REVISION_NO, END, INVALID = range(9)
_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_NO_SUFFIX = 5  # _alpha .. _rc sort before the plain version, _cvs .. _p after it
_HEX = frozenset("0123456789abcdef")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset("0123456789")

LESS, EQUAL, GREATER = 1, 2, 4  # apk's result bits; a match operator is a mask of them
FUZZY = 8


@dataclass(frozen=True, slots=True)
class _Token:
    kind: int
    text: str = ""  # what the token read (digits, a letter, a suffix name, a hash)
    number: int = 0  # digits, or the suffix's rank


def _digits(text: str, i: int) -> int:
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    return i


def _tokens(text: str) -> Iterator[_Token]:
    """The version's tokens; the last one has kind END or INVALID."""
    end = _digits(text, 0)
    if end == 0:
        yield _Token(INVALID)
        return
    token = _Token(INITIAL_DIGIT, text[:end], int(text[:end]))
    i = end
    yield token
    while True:
        if i >= len(text):
            yield _Token(END)
            return
        char, kind = text[i], token.kind
        if char in _LOWER and kind <= DIGIT:
            token, i = _Token(LETTER, char), i + 1
        elif (char == "." and kind <= DIGIT) or (char in _DIGITS and kind == SUFFIX):
            start = i + 1 if char == "." else i
            end = _digits(text, start)
            if end == start:
                yield _Token(INVALID)
                return
            token, i = _Token(DIGIT if char == "." else SUFFIX_NO, text[start:end], int(text[start:end])), end
        elif char == "_" and kind <= SUFFIX_NO:
            end = i + 1
            while end < len(text) and text[end] in _LOWER:
                end += 1
            name = text[i + 1 : end]
            if name not in _SUFFIXES:
                yield _Token(INVALID)
                return
            token, i = _Token(SUFFIX, name, _SUFFIXES[name]), end
        elif char == "~" and kind < COMMIT_HASH:
            end = i + 1
            while end < len(text) and text[end] in _HEX:
                end += 1
            if end == i + 1:
                yield _Token(INVALID)
                return
            token, i = _Token(COMMIT_HASH, text[i + 1 : end]), end
        elif char == "-" and kind < REVISION_NO and text.startswith("-r", i):
            end = _digits(text, i + 2)
            if end == i + 2:
                yield _Token(INVALID)
                return
            token, i = _Token(REVISION_NO, text[i + 2 : end], int(text[i + 2 : end])), end
        else:
            yield _Token(INVALID)
            return
        yield token


def _token_order(a: _Token, b: _Token) -> int:
    """-1, 0 or 1 for two tokens of the same kind."""
    if a.kind == DIGIT and (a.text.startswith("0") or b.text.startswith("0")):
        left, right = a.text, b.text  # a leading zero: compared as strings
    elif a.kind in (INITIAL_DIGIT, DIGIT, SUFFIX_NO, REVISION_NO, SUFFIX):
        left, right = a.number, b.number
    else:  # letters and commit hashes
        left, right = a.text, b.text
    return (left > right) - (left < right)


def _compare(left: str, right: str, fuzzy: bool = False) -> int:
    """LESS, EQUAL or GREATER, as apk-tools' ``apk_version_compare_fuzzy``: with ``fuzzy``,
    ``left`` equals a ``right`` that is a prefix of it, token by token."""
    a_tokens, b_tokens = _tokens(left), _tokens(right)
    while True:
        a, b = next(a_tokens), next(b_tokens)
        if a.kind != b.kind or a.kind >= END:
            break
        order = _token_order(a, b)
        if order:
            return LESS if order < 0 else GREATER
    if a.kind == b.kind or (b.kind == END and fuzzy):
        return EQUAL
    # Equal so far: the one that goes on is greater, unless it goes on with a pre-release suffix.
    if a.kind == SUFFIX and a.number < _NO_SUFFIX:
        return LESS
    if b.kind == SUFFIX and b.number < _NO_SUFFIX:
        return GREATER
    return LESS if a.kind > b.kind else GREATER


def compare_apk(left: str, right: str) -> int:
    """apk's three-way comparison as -1, 0, 1 (works on invalid versions the way apk-tools does)."""
    return {LESS: -1, EQUAL: 0, GREATER: 1}[_compare(left, right)]


def apk_match(left: str, operator: str, right: str) -> bool:
    """Whether ``left OPERATOR right`` holds, for apk's operators (``<``, ``<=``, ``=``, ``>=``,
    ``>``, ``~`` for "``right`` is a prefix", ``<~``, ``>~``; ``!`` before one negates it)."""
    negated = operator.startswith("!")
    mask = 0
    for char in operator.removeprefix("!"):
        mask |= {"<": LESS, ">": GREATER, "=": EQUAL, "~": FUZZY | EQUAL}.get(char, 0)
        if char not in "<>=~":
            raise ValueError(f"not an apk version operator: {operator!r}")
    return bool(_compare(left, right, fuzzy=bool(mask & FUZZY)) & mask) != negated


def is_valid_apk(version: str) -> bool:
    *_, last = _tokens(version)  # the final token says END or INVALID
    return last.kind == END


_ORDER = cmp_to_key(compare_apk)


class ApkScheme(VersionScheme):
    name = "apk"

    def parse(self, version: str) -> object:
        if not version or not is_valid_apk(version):
            raise InvalidVersionError(f"invalid apk version {version!r}")
        return _ORDER(version)  # apk ordering is not a plain tuple ordering: compare pairwise

    def compare(self, left: str, right: str) -> int:
        return compare_apk(left, right)
