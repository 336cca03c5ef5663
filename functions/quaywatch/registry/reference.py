"""Parsing of image references (``host[:port]/namespace/repo:tag`` or ``...@sha256:...``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from quaywatch.errors import UsageError

# Grammar from the distribution reference spec, reduced to what registries accept.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$")


class InvalidReferenceError(UsageError):
    """The image reference cannot be parsed."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A fully qualified image reference: registry host, repository, and a tag or digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What to put after ``/manifests/``: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @classmethod
    def parse(cls, text: str) -> ImageReference:
        """Parse ``host[:port]/namespace/repo[:tag][@digest]``.

        The registry host is mandatory: quaywatch never guesses Docker Hub. A missing tag
        means ``latest``, as every container tool does.
        """
        original = text
        text = text.strip()
        if "://" in text:
            raise InvalidReferenceError(
                f"invalid image reference {original!r}: leave out the scheme (use --plain-http "
                "for registries without TLS)"
            )
        digest = None
        if "@" in text:
            text, digest = text.split("@", 1)
            if not _DIGEST_RE.match(digest):
                raise InvalidReferenceError(
                    f"invalid image reference {original!r}: {digest!r} is not a sha256 digest"
                )
        host, sep, path = text.partition("/")
        if not sep or not path or not ("." in host or ":" in host or host == "localhost"):
            raise InvalidReferenceError(
                f"invalid image reference {original!r}: expected host[:port]/namespace/repo:tag"
            )
        tag = None
        last_slash = path.rfind("/")
        colon = path.rfind(":")
        if colon > last_slash:
            path, tag = path[:colon], path[colon + 1 :]
            if not _TAG_RE.match(tag):
                raise InvalidReferenceError(f"invalid image reference {original!r}: bad tag {tag!r}")
        if not _REPOSITORY_RE.match(path):
            raise InvalidReferenceError(
                f"invalid image reference {original!r}: bad repository name {path!r} "
                "(lowercase letters, digits and separators)"
            )
        if tag is None and digest is None:
            tag = "latest"
        return cls(registry=host.lower(), repository=path, tag=tag, digest=digest)


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform (``os/arch[/variant]``)."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch`` or ``os/arch/variant``."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(f"invalid platform {text!r}: expected os/arch, e.g. linux/arm64")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, os_name: str, architecture: str, variant: str | None) -> bool:
        """Whether an index entry's platform fits; a missing variant here accepts any."""
        if os_name != self.os or architecture != self.architecture:
            return False
        return self.variant is None or self.variant == (variant or _default_variant(architecture))


def _default_variant(architecture: str) -> str | None:
    return {"arm64": "v8", "arm": "v7"}.get(architecture)
