"""Debian package versions, exactly as dpkg orders them (``[epoch:]upstream[-revision]``).

python-debian's ``Version`` fails four of dpkg's own test vectors (a trailing ``-`` with an
empty revision, an upstream starting with ``-``), and univers refuses one that dpkg orders,
so this follows dpkg's ``verrevcmp`` directly; tests run it on dpkg's ``Dpkg_Version.t`` data.
"""

from __future__ import annotations

from quaywatch.versions.base import InvalidVersionError, VersionScheme


def _char_order(char: str) -> int:
    """dpkg's weight of a non-digit character: ``~`` sorts before everything, even the end."""
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _part_key(part: str) -> tuple:
    """A key whose tuple ordering equals verrevcmp: alternating non-digit runs and numbers.

    Each non-digit run becomes a tuple of character weights terminated by 0 (the end of a run
    weighs 0, above ``~`` and below every other character); each digit run its integer value.
    """
    key: list = []
    i, n = 0, len(part)
    while i < n or not key:
        start = i
        while i < n and not part[i].isdigit():
            i += 1
        key.append(tuple(_char_order(c) for c in part[start:i]) + (0,))
        start = i
        while i < n and part[i].isdigit():
            i += 1
        key.append(int(part[start:i]) if i > start else 0)
        if i >= n:
            break
    return tuple(key)


class DpkgScheme(VersionScheme):
    name = "dpkg"

    def parse(self, version: str) -> tuple:
        text = version.strip()
        if not text:
            raise InvalidVersionError("empty dpkg version")
        epoch = 0
        if ":" in text:
            head, text = text.split(":", 1)
            if not head.isdigit():
                raise InvalidVersionError(f"invalid epoch in dpkg version {version!r}")
            epoch = int(head)
        upstream, _, revision = text.rpartition("-") if "-" in text else (text, "", "")
        return (epoch, _Segments(_part_key(upstream)), _Segments(_part_key(revision)))


class _Segments(tuple):
    """A tuple that compares like dpkg: it compares to the end of the longer string, so the
    shorter one is padded with (empty run, 0) pairs, which is what a missing part weighs."""

    def _pair(self, other: _Segments) -> tuple[tuple, tuple]:
        length = max(len(self), len(other))
        pad = ((0,), 0)
        a = tuple(self) + pad * ((length - len(self)) // 2)
        b = tuple(other) + pad * ((length - len(other)) // 2)
        return a, b

    def __lt__(self, other: object) -> bool:
        a, b = self._pair(other)  # type: ignore[arg-type]
        return a < b

    def __gt__(self, other: object) -> bool:
        a, b = self._pair(other)  # type: ignore[arg-type]
        return a > b

    def __eq__(self, other: object) -> bool:
        a, b = self._pair(other)  # type: ignore[arg-type]
        return a == b

    def __le__(self, other: object) -> bool:
        return not self.__gt__(other)

    def __ge__(self, other: object) -> bool:
        return not self.__lt__(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return tuple.__hash__(self)
