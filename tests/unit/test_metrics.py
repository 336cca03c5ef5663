"""The counters behind GET /metrics (issue 18): Prometheus' text format, labels escaped,
summaries as count and sum, thread-safe totals."""

from __future__ import annotations

import threading

from quaywatch.metrics import HELP, Totals


def test_counters_and_summaries_in_the_text_format() -> None:
    totals = Totals()
    totals.add("quaywatch_findings_total", 3, (("severity", "high"),))
    totals.add("quaywatch_findings_total", 2, (("severity", 'we"ird\\'),))
    totals.observe("quaywatch_scan_seconds", 1.5, ())
    totals.observe("quaywatch_scan_seconds", 0.25, ())
    text = totals.prometheus()
    assert 'quaywatch_findings_total{severity="high"} 3\n' in text
    assert 'quaywatch_findings_total{severity="we\\"ird\\\\"} 2\n' in text
    assert "# TYPE quaywatch_scan_seconds summary\nquaywatch_scan_seconds_count 2\nquaywatch_scan_seconds_sum 1.75\n" in text
    assert all(f"# HELP {name} " in text for name in HELP)  # every metric is described, even at zero


def test_totals_are_exact_under_threads() -> None:
    totals = Totals()

    def add() -> None:
        for _ in range(10_000):
            totals.add("quaywatch_tests_total", 1, ())

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert totals.value("quaywatch_tests_total") == 80_000


def test_on_lambda_each_invocation_writes_its_metrics_as_cloudwatch_emf(monkeypatch, capsys) -> None:
    import json

    from quaywatch import metrics

    monkeypatch.setattr(metrics, "_ON_LAMBDA", True)

    @metrics.flushed
    def handler(event, context):
        metrics.count("quaywatch_registry_rate_limited_total")
        metrics.observe("quaywatch_scan_seconds", 2.0)
        return "done"

    assert handler({}, None) == "done"
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    document = json.loads(line)
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "quaywatch"
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {"registry_rate_limited_total": "Count",
                                                                     "scan_seconds": "Seconds"}
    assert document["registry_rate_limited_total"] in (1.0, [1.0]) and document["scan_seconds"] in (2.0, [2.0])

    @metrics.flushed
    def quiet(event, context):
        return None

    quiet({}, None)
    assert capsys.readouterr().out == ""  # nothing recorded: nothing written, no warning
