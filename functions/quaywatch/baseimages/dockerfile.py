"""What a Dockerfile says about the image it builds on, read as BuildKit reads it.

Only what decides the base matters here: parser directives (``# escape=``), comments, line
continuations, heredocs (their bodies are not instructions), ``ARG`` before the first
``FROM`` (the global scope ``FROM`` lines may expand, with the defaults as no build
arguments are given), and the ``FROM`` lines themselves (``--platform``, tags, digests,
``AS name``). The final stage's base is followed through stage names (``FROM builder``) and
stage indexes to an image, or to ``scratch``. A Dockerfile that cannot be read this way is
refused with the line at fault, as ``docker build`` would refuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quaywatch.errors import UsageError

INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
MAX_SIZE = 256 << 10
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*$")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
_REFERENCE = re.compile(
    r"^(?:(?P<registry>[a-zA-Z0-9.-]+(?::[0-9]+)?|localhost(?::[0-9]+)?)/)?"
    r"(?P<repository>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")


DOCKER_HUB = "docker.io"  # as references name it
DOCKER_HUB_HOSTS = ("registry-1.docker.io", "index.docker.io")  # where its registry API answers


def api_host(registry: str) -> str:
    """The host to talk the registry API to for a registry as a reference names it."""
    return DOCKER_HUB_HOSTS[0] if registry == DOCKER_HUB else registry


def named_registry(host: str) -> str:
    """A registry API host as references name it (the inverse of ``api_host``)."""
    return DOCKER_HUB if host in DOCKER_HUB_HOSTS else host


class DockerfileError(UsageError):
    """The Dockerfile cannot be read; ``line`` is the 1-based line at fault (0: the whole file)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"Dockerfile line {line}: {message}" if line else f"Dockerfile: {message}")
        self.line = line


@dataclass(frozen=True)
class ImageName:
    """An image reference as ``FROM`` names it, normalised as Docker does
    (``python:3.11`` is ``docker.io/library/python:3.11``)."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        return text + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


@dataclass(frozen=True)
class Stage:
    line: int
    source: str  # after variable expansion: an image, a stage name or index, or scratch
    name: str | None
    platform: str | None


@dataclass(frozen=True)
class BaseImage:
    """The final stage's base: an image (``image``) or nothing (``FROM scratch``)."""

    image: ImageName | None
    platform: str | None
    stages: list[Stage] = field(default_factory=list)
    line: int = 0  # the FROM line the base was found on


@dataclass
class _Instruction:
    line: int
    keyword: str
    arguments: str


def final_base(text: str) -> BaseImage:
    """The base image of the final stage of a Dockerfile."""
    if len(text.encode()) > MAX_SIZE:
        raise DockerfileError(0, f"larger than {MAX_SIZE // 1024} KiB")
    instructions = _instructions(text)
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not stages:
            global_args.update(_args(instruction, global_args))
        elif instruction.keyword == "FROM":
            stages.append(_stage(instruction, global_args, len(stages)))
        elif not stages:
            raise DockerfileError(instruction.line, f"{instruction.keyword} before the first FROM (only ARG may come first)")
    if not stages:
        raise DockerfileError(0, "no FROM instruction")
    return _resolve(stages)


def _instructions(text: str) -> list[_Instruction]:
    lines = text.replace("\r\n", "\n").split("\n")
    escape = "\\"
    index = 0
    while index < len(lines):  # parser directives: only at the very top
        found = _DIRECTIVE.match(lines[index])
        if not found:
            break
        if found.group(1).lower() == "escape":
            if found.group(2) not in ("\\", "`"):
                raise DockerfileError(index + 1, f"invalid escape character {found.group(2)!r} (use \\ or `)")
            escape = found.group(2)
        index += 1
    result: list[_Instruction] = []
    while index < len(lines):
        start = index
        raw = lines[index].strip()
        index += 1
        if not raw or raw.startswith("#"):
            continue
        parts = []
        current = raw
        while current.endswith(escape) and not current.endswith(escape * 2):
            parts.append(current[:-1])
            while index < len(lines) and (not lines[index].strip() or lines[index].strip().startswith("#")):
                index += 1  # comments and blank lines inside a continuation are dropped
            if index >= len(lines):
                current = ""
                break
            current = lines[index].strip()
            index += 1
        parts.append(current)
        logical = " ".join(part.strip() for part in parts if part.strip())
        keyword, _, arguments = logical.partition(" ")
        keyword = keyword.upper()
        if keyword not in INSTRUCTIONS:
            raise DockerfileError(start + 1, f"unknown instruction {keyword.lower()!r}")
        for heredoc in _HEREDOC.finditer(arguments):  # skip heredoc bodies (RUN <<EOF ... EOF)
            strip_tabs, word = heredoc.group(1) == "-", heredoc.group(3)
            while index < len(lines) and (lines[index].lstrip("\t") if strip_tabs else lines[index]) != word:
                index += 1
            if index >= len(lines):
                raise DockerfileError(start + 1, f"heredoc {word} is never closed")
            index += 1
        result.append(_Instruction(start + 1, keyword, arguments.strip()))
    return result


def _args(instruction: _Instruction, scope: dict[str, str]) -> dict[str, str]:
    values = {}
    for word in _words(instruction):
        name, has_default, default = word.partition("=")
        if not _NAME.match(name) or "." in name or "-" in name:
            raise DockerfileError(instruction.line, f"invalid ARG name {name!r}")
        values[name] = _expand(_unquote(default), {**scope, **values}, instruction.line) if has_default else ""
    if not values:
        raise DockerfileError(instruction.line, "ARG needs a name")
    return values


def _stage(instruction: _Instruction, scope: dict[str, str], index: int) -> Stage:
    words = _words(instruction)
    platform = None
    while words and words[0].startswith("--"):
        flag, _, value = words.pop(0).partition("=")
        if flag != "--platform" or not value:
            raise DockerfileError(instruction.line, f"unknown FROM flag {flag!r} (only --platform=...)")
        platform = _expand(value, scope, instruction.line) or value  # $BUILDPLATFORM: set by the builder
    name = None
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not _NAME.match(name):
            raise DockerfileError(instruction.line, f"invalid stage name {words[2]!r}")
        words = words[:1]
    if len(words) != 1:
        raise DockerfileError(instruction.line, "FROM needs an image and optionally AS <name>")
    source = _expand(words[0], scope, instruction.line)
    if not source:
        raise DockerfileError(instruction.line, f"FROM {words[0]} expands to nothing (an ARG without a default?)")
    return Stage(instruction.line, source, name, platform)


def _resolve(stages: list[Stage]) -> BaseImage:
    named = {stage.name: position for position, stage in enumerate(stages) if stage.name}
    position = len(stages) - 1
    chain = []
    seen = set()
    while True:
        stage = stages[position]
        chain.append(stage)
        seen.add(position)
        source = stage.source.lower()
        target = named.get(source)
        if target is None and source.isdigit() and int(source) < position:
            target = int(source)
        if target is not None and target < position:
            if target in seen:
                raise DockerfileError(stage.line, f"stage {stage.source} refers back to itself")
            position = target
            continue
        if source == "scratch":
            return BaseImage(None, stage.platform, chain, stage.line)
        return BaseImage(parse_image_name(stage.source, stage.line), stage.platform, chain, stage.line)


def parse_image_name(text: str, line: int = 0) -> ImageName:
    found = _REFERENCE.match(text)
    if not found:
        raise DockerfileError(line, f"{text!r} is not a valid image reference")
    registry, repository = found.group("registry"), found.group("repository")
    if registry is None or ("." not in registry and ":" not in registry and not registry.startswith("localhost")):
        if registry is not None:  # "myorg/app": a Docker Hub namespace, not a registry
            repository = f"{registry}/{repository}"
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    tag = found.group("tag")
    digest = found.group("digest")
    return ImageName(registry, repository, tag if tag or digest else "latest", digest)


def _expand(text: str, scope: dict[str, str], line: int) -> str:
    """``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:+alternative}`` as the builder expands them."""
    def replace(found: re.Match) -> str:
        name = found.group(1) or found.group(4)
        value = scope.get(name, "")
        operator, word = found.group(2), found.group(3)
        if operator == ":-":
            return value or word
        if operator == ":+":
            return word if value else ""
        return value

    if "${" in text and text.count("${") != text.count("}"):
        raise DockerfileError(line, f"unterminated variable in {text!r}")
    return _VARIABLE.sub(replace, text)


def _words(instruction: _Instruction) -> list[str]:
    words = re.findall(r'(?:[^\s"\']+|"[^"]*"|\'[^\']*\')+', instruction.arguments)
    return [word for word in words if word]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
