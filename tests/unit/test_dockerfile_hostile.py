"""Dockerfiles written to hurt (issue 17): the reader is linear in its input and bounded in
memory, refuses what passes a limit with the line and the limit in words, and reads every
legitimate form the same way as before.

The time checks here guard against a denial of service (a reader that takes a minute), not a
speed claim: the bounds are seconds for inputs that took 34 s to forever before, and the
growth checks compare one input with eight times that input in the same run."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quaywatch.baseimages.dockerfile import MAX_LINE, DockerfileError, final_base
from quaywatch.baseimages.shellwords import (
    MAX_LINE_EXPANSION,
    ExpansionBudget,
    WordError,
    expand,
    split_words,
)

from tests.support.hostile import HOSTILE_DOCKERFILES as HOSTILE


def measured(call: Callable[[], object]) -> tuple[float, int, object]:
    """(seconds, peak bytes allocated, result or the DockerfileError raised)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result: object = call()
    except DockerfileError as exc:
        result = exc
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return elapsed, peak, result


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_dockerfiles_are_read_in_bounded_time_and_memory(name: str) -> None:
    text, refusal = HOSTILE[name]
    elapsed, peak, result = measured(lambda: final_base(text))
    assert elapsed < 5, (name, elapsed)
    assert peak < 16 * len(text) + (8 << 20), (name, peak)  # a few copies of the text, never its expansions
    if refusal is None:
        assert not isinstance(result, DockerfileError), (name, result)
    else:
        assert isinstance(result, DockerfileError) and refusal in str(result), (name, result)
        assert len(str(result)) < 400  # the message names the line, not the whole line back


@pytest.mark.parametrize(("family", "make"), [
    ("spaces in a directive", lambda n: "# a=x" + " " * n + "y\nFROM alpine\n"),
    ("nested defaults", lambda n: "ARG A=1\nFROM alpine:" + "${A:-" * (n // 8) + "}" * (n // 8) + "\n"),
    ("dollar signs", lambda n: "ARG A=12345678\nFROM alpine:" + "$A" * (n // 2) + "\n"),
    ("quoted words", lambda n: "ARG " + " ".join(f'a{i}="x y"' for i in range(n // 16)) + "\nFROM alpine\n"),
    ("continued ARG lines", lambda n: "ARG " + " \\\n".join(f"n{i}=" for i in range(n // 10)) + "\nFROM alpine\n"),
])
def test_reading_time_grows_linearly(family: str, make: Callable[[int], str]) -> None:
    """Eight times the input costs about eight times the time (a quadratic reader: 64)."""
    def best(size: int) -> float:
        text = make(size)
        return min(measured_time(lambda: final_base(text)) for _ in range(3))

    small, large = best(6_000), best(48_000)
    assert large < max(small, 0.002) * 24, (family, small, large)


def measured_time(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    try:
        call()
    except DockerfileError:
        pass
    return time.perf_counter() - started


LEXER_ALPHABET = st.sampled_from(list("$${}:-+?\"'\\` \tAB_=x/.#\n") + ["${A", "${A:-", "$A", "ARG ", "FROM ", "\\\n"])


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LEXER_ALPHABET, max_size=400).map("".join))
def test_any_text_reads_or_is_refused_in_plain_words(body: str) -> None:
    for text in (body, "ARG A=1 B\n" + body, "FROM alpine\n" + body, "ARG A=" + body + "\nFROM alpine:$A\n"):
        try:
            final_base(text)
        except DockerfileError as exc:
            assert str(exc).startswith("Dockerfile")


@settings(max_examples=200, deadline=2000)
@given(st.text(alphabet=st.sampled_from(list("$AB{}:-+\"'\\x ")), max_size=300))
def test_expansion_never_escapes_its_budget(word: str) -> None:
    scope = {"A": "a" * 4096, "B": None}
    try:
        value = expand(word, scope, ExpansionBudget())
    except WordError:
        return
    assert len(value) <= len(word) + MAX_LINE_EXPANSION


@pytest.mark.parametrize(("word", "expected"), [
    ("$A", "1"), ("${A}", "1"), ("${U:-d}", "d"), ("${E:-d}", "d"), ("${E-d}", ""), ("${U-d}", "d"),
    ("${A:+x}", "x"), ("${E:+x}", ""), ("${E+x}", "x"), ("${U+x}", ""), ("'$A'", "$A"), ('"$A"', "1"),
    ("\\$A", "$A"), ("${U:-${A}}", "1"), ("${U:-${U2:-deep}}", "deep"), ('"a b"', "a b"), ("$", "$"),
    ("a$", "a$"), ("$1", "$1"), ("${A:?}", "1"),
])
def test_expansion_as_buildkit_reads_it(word: str, expected: str) -> None:
    scope = {"A": "1", "E": "", "U": None}
    assert expand(word, scope, ExpansionBudget()) == expected


@pytest.mark.parametrize(("word", "words"), [
    ("${U:?needed}", "U is not set: needed"), ("${A#x}", "a form quaywatch does not read"),
    ("${}", "no variable name"), ("${A:-x", "never closed"),
])
def test_expansion_refusals_say_why(word: str, words: str) -> None:
    with pytest.raises(WordError, match=words):
        expand(word, {"A": "1", "U": None}, ExpansionBudget())


def test_words_split_outside_quotes() -> None:
    assert split_words('A="x y" B=\'p q\' C=z\\ w') == ['A="x y"', "B='p q'", "C=z\\ w"]


def test_a_line_at_the_limit_reads_and_one_past_it_is_refused() -> None:
    padding = "x" * (MAX_LINE - len("FROM alpine:3.19 "))
    assert str(final_base("FROM alpine:3.19\nRUN " + padding[4:] + "\n").image) == "docker.io/library/alpine:3.19"
    with pytest.raises(DockerfileError, match="line 2: longer than 64 KiB"):
        final_base("FROM alpine:3.19\nRUN " + padding + "x" * 100 + "\n")
