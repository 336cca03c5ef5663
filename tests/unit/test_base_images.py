"""Base images (issue 10): reading the base from a Dockerfile as BuildKit does, and ordering
a base repository's tags by the version in them."""

from __future__ import annotations

import pytest
from quaywatch.baseimages.dockerfile import DockerfileError, final_base, parse_image_name
from quaywatch.baseimages.tags import candidates, parse_tag
from quaywatch.integrations.records import Integration

MULTI_STAGE = """\
# syntax=docker/dockerfile:1.7
# A multi-stage build: the final stage is based on the "runtime" stage, which is the base image.
ARG REGISTRY=quay.example:8443
ARG BASE_TAG=3.9.1
ARG UNUSED

FROM --platform=$BUILDPLATFORM golang:1.22 AS build
WORKDIR /src
RUN <<EOF
FROM not-an-instruction
go build ./...
EOF

FROM ${REGISTRY}/acme/base:${BASE_TAG} AS runtime
RUN apk add --no-cache \\
      ca-certificates \\
# a comment inside a continuation is dropped
      tzdata

FROM runtime
COPY --from=build /src/app /usr/local/bin/app
ENTRYPOINT ["app"]
"""


def test_multi_stage_with_arg_in_from_follows_the_final_stage_to_its_image() -> None:
    base = final_base(MULTI_STAGE)
    assert base.image is not None
    assert (base.image.registry, base.image.repository, base.image.tag) == ("quay.example:8443", "acme/base", "3.9.1")
    assert base.line == 14 and [s.line for s in base.stages] == [20, 14]


@pytest.mark.parametrize(("text", "expected"), [
    ("FROM python:3.11-slim", "docker.io/library/python:3.11-slim"),
    ("from ubuntu", "docker.io/library/ubuntu:latest"),
    ("FROM myorg/app:1.2", "docker.io/myorg/app:1.2"),
    ("FROM quay.io/acme/python:3.12 as base\nFROM base", "quay.io/acme/python:3.12"),
    ("FROM localhost:5000/base@sha256:" + "a" * 64, "localhost:5000/base@sha256:" + "a" * 64),
    ("ARG V\nFROM alpine:${V:-3.20}", "docker.io/library/alpine:3.20"),
    ("ARG V=1\nFROM alpine:3.${V:+19}", "docker.io/library/alpine:3.19"),
    ("FROM alpine:3.19 AS a\nFROM debian:12 AS b\nFROM 0", "docker.io/library/alpine:3.19"),
    ("# escape=`\nFROM `\n  python:3.11", "docker.io/library/python:3.11"),
    ("FROM --platform=linux/arm64 python:3.11\r\nRUN true\r\n", "docker.io/library/python:3.11"),
])
def test_base_references(text: str, expected: str) -> None:
    assert str(final_base(text).image) == expected


def test_scratch_has_no_base_image() -> None:
    base = final_base("FROM golang:1.22 AS build\nFROM scratch\nCOPY --from=build /app /app\n")
    assert base.image is None


@pytest.mark.parametrize(("text", "line", "words"), [
    ("RUN echo hi\nFROM alpine", 1, "before the first FROM"),
    ("FROM alpine\nFROBNICATE x", 2, "unknown instruction"),
    ("# just a comment\n", 0, "no FROM"),
    ("ARG TAG\nFROM ${TAG}", 2, "expands to nothing"),
    ("FROM alpine:3.19 AS\n", 1, "FROM needs an image"),
    ("FROM --network=host alpine", 1, "unknown FROM flag"),
    ("FROM Not_Valid::ref", 1, "not a valid image reference"),
    ("FROM alpine\nRUN <<EOT\necho never closed\n", 2, "never closed"),
    ("# escape=x\nFROM alpine", 1, "invalid escape"),
])
def test_unreadable_dockerfiles_name_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(DockerfileError) as raised:
        final_base(text)
    assert raised.value.line == line and words in str(raised.value)


def test_a_huge_dockerfile_is_refused() -> None:
    with pytest.raises(DockerfileError, match="larger than"):
        final_base("FROM alpine\n" + "RUN true\n" * 40_000)


def test_image_names_normalise_like_docker() -> None:
    assert parse_image_name("redis").repository == "library/redis"
    assert parse_image_name("registry.example/team/redis:7").registry == "registry.example"


@pytest.mark.parametrize(("tag", "version", "flavour", "distro"), [
    ("3.11.9-slim-bookworm", (3, 11, 9), "slim", ("debian", (12.0,))),
    ("3.12-alpine3.20", (3, 12), "alpine", ("alpine", (3.0, 20.0))),
    ("3.11-bullseye", (3, 11), "", ("debian", (11.0,))),
    ("9.4", (9, 4), "", None),
    ("v1.2.3", (1, 2, 3), "", None),
    ("22.04-jammy", (22, 4), "", ("ubuntu", (22.04,))),
])
def test_tags_parse_into_version_flavour_and_distribution(tag, version, flavour, distro) -> None:
    parsed = parse_tag(tag)
    assert parsed is not None and (parsed.version, parsed.flavour, parsed.distro) == (version, flavour, distro)


@pytest.mark.parametrize("tag", ["latest", "edge", "nightly", "a1b2c3d", "stable-slim"])
def test_tags_without_a_version_are_never_ordered(tag: str) -> None:
    assert parse_tag(tag) is None


def test_candidates_minor_major_and_a_smaller_alternative() -> None:
    tags = ["3.9.0", "3.9.1", "3.9.4", "3.10.2", "3.11.0", "3.11.3", "3.12.0rc1", "3.11.3-slim", "3.10.2-slim",
            "3.11.3-alpine3.20", "latest", "3.9.4-slim"]
    found = candidates("3.9.1", tags)
    assert (found.minor.tag, found.major.tag, found.alternative.tag) == ("3.9.4", "3.11.3", "3.11.3-slim")


def test_candidates_follow_the_variant_and_newer_debian_releases() -> None:
    tags = ["3.11.2-slim-bullseye", "3.11.9-slim-bullseye", "3.11.9-slim-bookworm", "3.12.4-slim-bookworm",
            "3.12.4-bookworm", "3.12.4-alpine3.20", "3.11.9-alpine3.19"]
    found = candidates("3.11.2-slim-bullseye", tags)
    assert found.minor.tag == "3.11.9-slim-bookworm"  # same line, same flavour, newer Debian
    assert found.major.tag == "3.12.4-slim-bookworm"
    assert found.alternative.tag == "3.12.4-alpine3.20"


def test_no_candidates_for_the_newest_tag_or_an_unversioned_one() -> None:
    assert candidates("3.12.0", ["3.11.0", "3.12.0"]) == candidates("latest", ["3.12.0"])
    assert candidates("3.12.0", ["3.11.0", "3.12.0"]).minor is None


def test_sources_match_dockerfile_bases_by_registry_and_repository() -> None:
    from quaywatch.baseimages.service import BaseImages, Source

    hub = Source(("library/python",), registry_url="https://registry-1.docker.io")
    quay = Source(("acme/base",), integration=Integration(
        id="int-1", org_id="o", url="https://quay.example:8443", username="r", secret_arn="s", created_at="2026-01-01"))
    finder = BaseImages.__new__(BaseImages)  # source_for reads nothing but its arguments
    assert finder.source_for(parse_image_name("python:3.12-slim"), [quay, hub]) is hub
    assert finder.source_for(parse_image_name("quay.example:8443/acme/base:3.9.1"), [quay, hub]) is quay
    assert finder.source_for(parse_image_name("quay.example:8443/acme/other:1"), [quay, hub]) is None
