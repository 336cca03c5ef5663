"""Hostile inputs shared by the unit tests of the readers and the tests of ``serve`` that
replay them through the API (issue 17)."""

from __future__ import annotations

# name -> (Dockerfile, what the refusal says; None: it reads)
HOSTILE_DOCKERFILES: dict[str, tuple[str, str | None]] = {
    "directive with 120,000 spaces": ("# a=x" + " " * 120_000 + "y\nFROM alpine\n", "line 1: longer than 64 KiB"),
    "directive with 60,000 spaces": ("# a=x" + " " * 60_000 + "y\nFROM alpine\n", None),
    "ARG doubled 40 times": ("ARG A0=" + "x" * 1000 + "\n" + "".join(
        f"ARG A{n}=${{A{n - 1}}}${{A{n - 1}}}\n" for n in range(1, 41)) + "FROM alpine:${A40}\n",
        "line 8: ARG A7: its variables expand to more than 64 KiB"),
    "ARG doubled in one line": ("ARG A=" + "x" * 1000 + " " + " ".join("A=$A$A" for _ in range(40)) + "\nFROM alpine\n",
                                "line 1: ARG A: its variables expand to more than 64 KiB"),
    "40,000 ARG names on one line": ("ARG " + " ".join(f"n{i}=" for i in range(40_000)) + "\nFROM alpine\n",
                                     "larger than 256 KiB"),
    "25,000 ARG names over continuations": ("ARG " + " \\\n".join(f"n{i}=" for i in range(25_000)) + "\nFROM alpine\n",
                                            None),
    "braces nested 10,000 deep": ("ARG A=1\nFROM alpine:" + "${A:-" * 10_000 + "}" * 10_000 + "\n",
                                  "line 2: the image: variables nest deeper than 16 levels"),
    "30,000 expansions of a 60 KB value": ("ARG A=" + "x" * 60_000 + "\nFROM alpine:" + "$A" * 30_000 + "\n",
                                           "line 2: the image: its variables expand to more than 64 KiB"),
    "unclosed brace": ("ARG A=1\nFROM alpine:${A" + "x" * 60_000 + "\n", "line 2: the image: a ${ is never closed"),
    "60,001 quotes": ("ARG A=" + '"' * 60_001 + "\nFROM alpine\n", 'line 1: a " quote is never closed'),
    "reference of 60,000 separators": ("FROM " + "a-" * 30_000 + "!\n", "line 1: 'a-a-a"),
    "30,000 heredoc openers": ("FROM alpine\nRUN " + "<<" * 30_000 + "\n", None),
    "unknown instruction 60,000 long": ("FROM alpine\n" + "X" * 60_000 + "\n", "line 2: unknown instruction 'xxxx"),
}

# Integration (registry) URLs a URL parser and getaddrinfo read differently, or not at all.
MISREAD_HOSTS = ("http://999.1.1.1", "http://1.2.3.256", "http://01.2.3.4", "https://0251.0376.0251.0376",
                 "https://0xa9.254.169.254", "https://2852039166", "https://ex\u00adample.com", "https://xn--/")
