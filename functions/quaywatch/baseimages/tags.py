"""Base image tags ordered by the version in them, the way people name them.

``3.11.9-slim-bookworm`` is version 3.11.9, flavour ``slim``, on Debian 12 (bookworm);
``3.12-alpine3.20`` is 3.12 on Alpine 3.20; ``9.4`` is 9.4 with no flavour; ``latest`` and
tags without a leading version (``edge``, ``nightly``, commit ids) have no version and are
never proposed. Flavours rank by size, for "a smaller variant": full > slim > alpine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from quaywatch.distros import debian, ubuntu

_SIZE = {"": 3, "full": 3, "slim": 2, "alpine": 1, "distroless": 1, "minimal": 1, "micro": 1}
_PRERELEASE = re.compile(r"^(rc|alpha|beta|a|b|dev|pre|preview|snapshot|nightly)\d*$")
_TAG = re.compile(r"^v?(?P<version>\d+(?:\.\d+){0,3})(?P<pre>[-.]?(?:rc|alpha|beta|a|b|dev|pre)\.?\d*)?"
                  r"(?P<rest>(?:[-_][a-zA-Z].*)?)$")


@dataclass(frozen=True)
class TagVersion:
    """What a tag says: its version, its flavour and the distribution release it is built on."""

    tag: str
    version: tuple[int, ...]
    flavour: str  # "", "slim", "alpine", "windowsservercore"...
    distro: tuple[str, tuple[float, ...]] | None  # ("debian", (12,)), ("alpine", (3, 20)), None
    prerelease: bool = False  # 3.13.0rc1, 2.0-beta2: never proposed

    @property
    def line(self) -> tuple[int, ...]:
        """major.minor: the line a ``minor`` recommendation stays on."""
        return self.version[:2]

    @property
    def size_rank(self) -> int:
        return _SIZE.get(self.flavour.split("-")[0], 3)  # an unknown flavour is never "smaller"

    @property
    def order(self) -> tuple:
        """Sort key: newer version, then newer distribution release."""
        return (self.version, self.distro[1] if self.distro else ())


def parse_tag(tag: str) -> TagVersion | None:
    """The version of a tag, or None when it carries none (``latest``, ``edge``, a commit id)."""
    found = _TAG.match(tag)
    if not found:
        return None
    version = tuple(int(part) for part in found.group("version").split("."))
    words = [w for w in re.split(r"[-_]", found.group("rest").lstrip("-_.")) if w]
    flavour_words = []
    distro = None
    prerelease = bool(found.group("pre"))
    for word in words:
        lower = word.lower()
        if _PRERELEASE.match(lower):
            prerelease = True
            continue
        alpine = re.fullmatch(r"alpine(\d+(?:\.\d+)*)?", lower)
        if debian.release_of_codename(lower):  # the codename tables are the distributions' own
            distro = ("debian", (float(debian.release_of_codename(lower) or 0),))
        elif ubuntu.release_of_codename(lower):
            distro = ("ubuntu", (float(ubuntu.release_of_codename(lower) or 0),))
        elif alpine:
            flavour_words.append("alpine")
            distro = ("alpine", tuple(float(p) for p in alpine.group(1).split("."))) if alpine.group(1) else ("alpine", ())
        else:
            flavour_words.append(lower)
    return TagVersion(tag, version, "-".join(flavour_words), distro, prerelease)


def same_variant(a: TagVersion, b: TagVersion) -> bool:
    """Same flavour on the same distribution (any release of it: bookworm may follow bullseye)."""
    return a.flavour == b.flavour and (a.distro[0] if a.distro else None) == (b.distro[0] if b.distro else None)


@dataclass(frozen=True)
class Candidates:
    minor: TagVersion | None
    major: TagVersion | None
    alternative: TagVersion | None


def candidates(current: str, tags: list[str]) -> Candidates:
    """Up to three tags to compare ``current`` with: the newest of the same major.minor line and
    variant (``minor``), the newest version of the same variant (``major``), the newest tag of a
    smaller variant (``alternative``). Each must be newer than (or, for the alternative, at
    least as new as) the current tag; the current tag itself is never a candidate."""
    base = parse_tag(current)
    if base is None:
        return Candidates(None, None, None)
    parsed = [t for t in (parse_tag(tag) for tag in tags) if t is not None and t.tag != current and not t.prerelease]
    same = [t for t in parsed if same_variant(t, base) and t.order > base.order]
    minor = max((t for t in same if t.line == base.line), key=lambda t: t.order, default=None)
    major = max(same, key=lambda t: t.order, default=None)
    if major is not None and minor is not None and major.tag == minor.tag:
        major = None  # one proposal, not the same tag twice
    smaller = [t for t in parsed if t.size_rank < base.size_rank and t.version >= base.version]
    alternative = max(smaller, key=lambda t: (t.version, t.size_rank, t.order), default=None)
    return Candidates(minor, major, alternative)
