"""Counters and timings of what quaywatch does: images scanned, scan and import durations,
findings by severity, registry rate limits, messages given up on.

The same calls serve both runtimes. On Lambda each value also goes to CloudWatch as an
embedded-metric-format line (Powertools Metrics, flushed after each invocation by ``flushed``);
everywhere the totals are kept in this process, and ``quaywatch serve`` answers them in
Prometheus' text format on ``GET /metrics`` (the operator's token), so a self-hosted install is
watched with the usual tools. Names follow Prometheus' conventions (``_total``, ``_seconds``).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "quaywatch"
emf = Metrics(namespace=NAMESPACE, service="quaywatch")  # the handlers flush it (``flushed``)
_ON_LAMBDA = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))

HELP = {
    "quaywatch_images_scanned_total": "images scanned (a new digest); re-matches of a known digest are not scans",
    "quaywatch_scan_seconds": "time to scan one image (resolve, layers, inventory)",
    "quaywatch_import_image_seconds": "time to import one image of an import (scan, match, record)",
    "quaywatch_tests_total": "project tests recorded",
    "quaywatch_findings_total": "findings not ignored, by severity, summed over recorded tests",
    "quaywatch_registry_rate_limited_total": "registry answers of HTTP 429",
    "quaywatch_gave_up_total": "messages given up on after their last allowed delivery",
    "quaywatch_dead_letters_total": "messages moved to a dead-letter queue",
}

Labels = tuple[tuple[str, str], ...]


class Totals:
    """Counters and summaries (count and sum) by name and labels; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, Labels], float] = {}
        self._summaries: dict[tuple[str, Labels], tuple[int, float]] = {}

    def add(self, name: str, value: float, labels: Labels) -> None:
        with self._lock:
            self._counters[(name, labels)] = self._counters.get((name, labels), 0.0) + value

    def observe(self, name: str, seconds: float, labels: Labels) -> None:
        with self._lock:
            count, total = self._summaries.get((name, labels), (0, 0.0))
            self._summaries[(name, labels)] = (count + 1, total + seconds)

    def value(self, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            return self._counters.get(key, float(self._summaries.get(key, (0, 0.0))[0]))

    def prometheus(self) -> str:
        """The text exposition format (version 0.0.4)."""
        with self._lock:
            counters, summaries = dict(self._counters), dict(self._summaries)
        lines: list[str] = []
        for name in sorted({n for n, _ in counters} | {n for n, _ in summaries} | set(HELP)):
            kind = "summary" if name.endswith("_seconds") else "counter"
            lines += [f"# HELP {name} {HELP.get(name, name)}", f"# TYPE {name} {kind}"]
            for (metric, labels), value in sorted(counters.items()):
                if metric == name:
                    lines.append(f"{name}{_labels(labels)} {_number(value)}")
            for (metric, labels), (count, total) in sorted(summaries.items()):
                if metric == name:
                    lines += [f"{name}_count{_labels(labels)} {count}", f"{name}_sum{_labels(labels)} {_number(total)}"]
        return "\n".join(lines) + "\n"


TOTALS = Totals()


def count(name: str, value: float = 1, **labels: str) -> None:
    """Add ``value`` to the counter ``name`` (``quaywatch_..._total``)."""
    if value:
        TOTALS.add(name, value, tuple(sorted(labels.items())))
        if _ON_LAMBDA:
            emf.add_metric(name=_emf_name(name, labels), unit=MetricUnit.Count, value=value)


def observe(name: str, seconds: float, **labels: str) -> None:
    """Record one duration of ``name`` (``quaywatch_..._seconds``)."""
    TOTALS.observe(name, seconds, tuple(sorted(labels.items())))
    if _ON_LAMBDA:
        emf.add_metric(name=_emf_name(name, labels), unit=MetricUnit.Seconds, value=seconds)


def flushed(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A Lambda handler whose metrics go to CloudWatch when it returns or raises (Powertools'
    ``log_metrics`` also warns on every invocation that recorded none: most API requests)."""

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            if emf.metric_set:
                emf.flush_metrics()

    return run


@contextmanager
def timed(name: str, **labels: str) -> Iterator[None]:
    """Observe how long the block took (also when it raises)."""
    started = perf_counter()
    try:
        yield
    finally:
        observe(name, perf_counter() - started, **labels)


def _emf_name(name: str, labels: dict[str, str]) -> str:
    """CloudWatch has dimensions per flush, not per value: labels go into the name."""
    base = name.removeprefix(f"{NAMESPACE}_")
    return base + "".join(f"_{value}" for _, value in sorted(labels.items()))


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (f'{key}="{value.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
               for key, value in labels)
    return "{" + ",".join(escaped) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)
