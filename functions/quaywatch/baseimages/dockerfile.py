"""What a Dockerfile says about the image it builds on, read as BuildKit reads it.

Only what decides the base matters here: parser directives (``# escape=``), comments, line
continuations, heredocs (their bodies are not instructions), ``ARG`` before the first
``FROM`` (the global scope ``FROM`` lines may expand, with the defaults as no build
arguments are given), and the ``FROM`` lines themselves (``--platform``, tags, digests,
``AS name``). The final stage's base is followed through stage names (``FROM builder``) and
stage indexes to an image, or to ``scratch``. A Dockerfile that cannot be read this way is
refused with the line at fault, as ``docker build`` would refuse it.

The text comes from any member of an organisation and is read inside an API request: it is
read in one pass per line without backtracking patterns, lines are capped at ``MAX_LINE`` and
the file at ``MAX_SIZE``, and variable expansion is bounded (``shellwords``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from quaywatch.baseimages.shellwords import ExpansionBudget, Scope, WordError, expand, split_words
from quaywatch.errors import UsageError

INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
MAX_SIZE = 256 << 10
MAX_LINE = 64 << 10
MAX_REFERENCE = 512  # a name is at most 255 characters (distribution's limit), a tag 128, a digest 71
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*$")
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
    if len(text) > MAX_SIZE or len(text.encode()) > MAX_SIZE:
        raise DockerfileError(0, f"larger than {MAX_SIZE // 1024} KiB")
    instructions, escape = _instructions(text)
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    budget = ExpansionBudget()
    for instruction in instructions:
        budget.new_line()
        if instruction.keyword == "ARG" and not stages:
            _declare_args(instruction, global_args, budget, escape)
        elif instruction.keyword == "FROM":
            stages.append(_stage(instruction, global_args, budget, escape))
        elif not stages:
            raise DockerfileError(instruction.line, f"{instruction.keyword} before the first FROM (only ARG may come first)")
    if not stages:
        raise DockerfileError(0, "no FROM instruction")
    return _resolve(stages)


def _directive(line: str) -> tuple[str, str] | None:
    """``# name=value`` at the top of the file (name: a letter then letters and digits)."""
    if not line.startswith("#"):
        return None
    name, equals, value = line[1:].partition("=")
    name = name.strip()
    if not equals or not name or not name.isascii() or not name.isalnum() or not name[0].isalpha():
        return None
    return name, value.strip()


def _instructions(text: str) -> tuple[list[_Instruction], str]:
    """The instructions, and the escape character the directives chose."""
    lines = text.replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE:
            raise DockerfileError(number, f"longer than {MAX_LINE // 1024} KiB")
    escape = "\\"
    index = 0
    while index < len(lines):  # parser directives: only at the very top
        found = _directive(lines[index])
        if not found:
            break
        if found[0].lower() == "escape":
            if found[1] not in ("\\", "`"):
                raise DockerfileError(index + 1, f"invalid escape character {found[1][:20]!r} (use \\ or `)")
            escape = found[1]
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
            raise DockerfileError(start + 1, f"unknown instruction {keyword.lower()[:40]!r}")
        for heredoc in _HEREDOC.finditer(arguments):  # skip heredoc bodies (RUN <<EOF ... EOF)
            strip_tabs, word = heredoc.group(1) == "-", heredoc.group(3)
            while index < len(lines) and (lines[index].lstrip("\t") if strip_tabs else lines[index]) != word:
                index += 1
            if index >= len(lines):
                raise DockerfileError(start + 1, f"heredoc {word} is never closed")
            index += 1
        result.append(_Instruction(start + 1, keyword, arguments.strip()))
    return result, escape


def _declare_args(instruction: _Instruction, scope: dict[str, str | None], budget: ExpansionBudget,
                  escape: str) -> None:
    """``ARG name[=default] ...`` into ``scope``, in order (a default may use the names before
    it). A name without a default is declared unset, keeping a value it already has."""
    words = _words(instruction, escape)
    if not words:
        raise DockerfileError(instruction.line, "ARG needs a name")
    for word in words:
        name, has_default, default = word.partition("=")
        if not _is_arg_name(name):
            raise DockerfileError(instruction.line, f"invalid ARG name {name[:70]!r}")
        if has_default:
            scope[name] = _expand(default, scope, budget, escape, instruction.line, f"ARG {name}")
        else:
            scope.setdefault(name, None)


def _is_arg_name(name: str) -> bool:
    return bool(name) and name.isascii() and (name[0].isalpha() or name[0] == "_") and \
        name.replace("_", "a").isalnum()


def _stage(instruction: _Instruction, scope: dict[str, str | None], budget: ExpansionBudget, escape: str) -> Stage:
    words = _words(instruction, escape)
    platform = None
    while words and words[0].startswith("--"):
        flag, _, value = words.pop(0).partition("=")
        if flag != "--platform" or not value:
            raise DockerfileError(instruction.line, f"unknown FROM flag {flag[:40]!r} (only --platform=...)")
        platform = _expand(value, scope, budget, escape, instruction.line, "--platform") or value  # $BUILDPLATFORM
    name = None
    if len(words) == 3 and words[1].lower() == "as":
        name = words[2].lower()
        if not _NAME.match(name):
            raise DockerfileError(instruction.line, f"invalid stage name {words[2][:70]!r}")
        words = words[:1]
    if len(words) != 1:
        raise DockerfileError(instruction.line, "FROM needs an image and optionally AS <name>")
    source = _expand(words[0], scope, budget, escape, instruction.line, "the image")
    if not source:
        raise DockerfileError(instruction.line, f"FROM {words[0][:70]} expands to nothing (an ARG without a default?)")
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
    if len(text) > MAX_REFERENCE:  # before the pattern: it backtracks (in bounded time, but not in bounded memory)
        raise DockerfileError(line, f"{text[:200]!r}... is not a valid image reference (over {MAX_REFERENCE} characters)")
    found = _REFERENCE.match(text)
    if not found:
        raise DockerfileError(line, f"{text[:200]!r} is not a valid image reference")
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


def _expand(text: str, scope: Scope, budget: ExpansionBudget, escape: str, line: int, what: str) -> str:
    """``text`` with quotes removed and variables expanded as the builder expands them."""
    try:
        return expand(text, scope, budget, escape)
    except WordError as exc:
        raise DockerfileError(line, f"{what}: {exc}") from None


def _words(instruction: _Instruction, escape: str) -> list[str]:
    try:
        return split_words(instruction.arguments, escape)
    except WordError as exc:
        raise DockerfileError(instruction.line, str(exc)) from None
