"""Builds OCI images from fixture trees and pushes them to the test registry.

Layers are deterministic: entries sorted, mtime 0, root ownership, gzip without a
timestamp; the same tree always gives the same digest, so images can share base layers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass

import httpx
import zstandard

from tests.support.tokens import TokenServer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


@dataclass(frozen=True)
class Entry:
    """A tar entry of a fixture tree."""

    data: bytes = b""
    mode: int = 0o644
    kind: str = "file"  # file | dir | symlink | hardlink
    target: str = ""


Tree = dict[str, "bytes | str | Entry"]


def symlink(target: str) -> Entry:
    return Entry(kind="symlink", target=target)


def executable(data: bytes) -> Entry:
    return Entry(data=data, mode=0o755)


def build_tar(tree: Tree) -> bytes:
    """A deterministic tar of ``tree`` (paths relative to the root)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(tree):
            value = tree[path]
            entry = value if isinstance(value, Entry) else Entry(data=value.encode() if isinstance(value, str) else value)
            info = tarfile.TarInfo(path)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = entry.mode
            if entry.kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            elif entry.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = entry.target
                archive.addfile(info)
            elif entry.kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = entry.target
                archive.addfile(info)
            else:
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
    return buffer.getvalue()


def compress(tar: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(tar, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(tar)
    return tar


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Pushed:
    digest: str
    size: int
    media_type: str


class ImagePusher:
    """Pushes blobs, manifests and indexes straight to the real registry as an admin."""

    def __init__(self, registry_url: str, tokens: TokenServer) -> None:
        self.registry_url = registry_url
        self.tokens = tokens
        self.http = httpx.Client(timeout=120)

    def close(self) -> None:
        self.http.close()

    def _auth(self, repository: str, actions: tuple[str, ...] = ("pull", "push")) -> dict[str, str]:
        token = self.tokens.issue("admin", [{"type": "repository", "name": repository, "actions": list(actions)}])
        return {"Authorization": f"Bearer {token}"}

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = digest_of(data)
        headers = self._auth(repository)
        if self.http.head(f"{self.registry_url}/v2/{repository}/blobs/{digest}", headers=headers).status_code == 200:
            return digest
        started = self.http.post(f"{self.registry_url}/v2/{repository}/blobs/uploads/", headers=headers)
        started.raise_for_status()
        location = httpx.URL(self.registry_url).join(started.headers["Location"])
        done = self.http.put(
            location.copy_merge_params({"digest": digest}),
            content=data,
            headers={**headers, "Content-Type": "application/octet-stream"},
        )
        done.raise_for_status()
        return digest

    def delete_manifest(self, repository: str, tag: str) -> None:
        """Delete the manifest a tag points at (docker-registry deletes by digest: every tag
        of that manifest goes)."""
        headers = {**self._auth(repository, ("pull", "push", "delete")), "Accept": f"{OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json"}
        found = self.http.head(f"{self.registry_url}/v2/{repository}/manifests/{tag}", headers=headers)
        found.raise_for_status()
        deleted = self.http.delete(f"{self.registry_url}/v2/{repository}/manifests/{found.headers['Docker-Content-Digest']}",
                                   headers=headers)
        deleted.raise_for_status()

    def push_manifest(self, repository: str, reference: str, document: dict, media_type: str) -> Pushed:
        body = json.dumps(document, indent=2).encode()
        response = self.http.put(
            f"{self.registry_url}/v2/{repository}/manifests/{reference}",
            content=body,
            headers={**self._auth(repository), "Content-Type": media_type},
        )
        response.raise_for_status()
        return Pushed(digest_of(body), len(body), media_type)

    def push_image(
        self,
        repository: str,
        tag: str | None,
        layers: list[Tree | bytes],
        *,
        compression: str = "gzip",
        platform: tuple[str, str] = ("linux", "amd64"),
        media_type: str = OCI_MANIFEST,
        created: str | None = None,
    ) -> Pushed:
        """Push an image made of ``layers`` (trees, or ready tar bytes) and tag it;
        ``created``: the config's creation time (also makes the image's digest its own)."""
        layer_descriptors = []
        diff_ids = []
        for layer in layers:
            tar = layer if isinstance(layer, bytes) else build_tar(layer)
            blob = compress(tar, compression)
            layer_descriptors.append(
                {
                    "mediaType": LAYER_TYPES[compression] if media_type == OCI_MANIFEST else "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": self.push_blob(repository, blob),
                    "size": len(blob),
                }
            )
            diff_ids.append(digest_of(tar))
        config = json.dumps(
            {
                "architecture": platform[1],
                "os": platform[0],
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                **({"created": created} if created else {}),
            },
            sort_keys=True,
        ).encode()
        config_type = (
            "application/vnd.oci.image.config.v1+json"
            if media_type == OCI_MANIFEST
            else "application/vnd.docker.container.image.v1+json"
        )
        document = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, "digest": self.push_blob(repository, config), "size": len(config)},
            "layers": layer_descriptors,
        }
        body_digest = digest_of(json.dumps(document, indent=2).encode())
        return self.push_manifest(repository, tag or body_digest, document, media_type)

    def push_index(
        self, repository: str, tag: str, children: list[tuple[Pushed, dict]]
    ) -> Pushed:
        """Push an OCI index of already pushed manifests with their platform/annotations."""
        manifests = []
        for pushed, extra in children:
            manifests.append({"mediaType": pushed.media_type, "digest": pushed.digest, "size": pushed.size, **extra})
        document = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        return self.push_manifest(repository, tag, document, OCI_INDEX)
