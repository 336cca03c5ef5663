"""A human-readable table of the findings, most severe first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from quaywatch.matching.models import Finding, MatchReport
from quaywatch.matching.severity import RANK
from quaywatch.outcome import count_issues

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "negligible": "dim"}


SORT_ORDERS = ("severity", "kev", "epss")


def sort_key(order: str):
    """How findings are listed: by severity (then known exploitation, then EPSS), by
    known exploitation first, or by EPSS score first."""
    def severity(f: Finding) -> tuple:
        return (-RANK[f.severity], not f.kev, -(f.epss.score if f.epss else -1.0), f.package, f.id)

    def kev(f: Finding) -> tuple:
        return (not f.kev, -(f.epss.score if f.epss else -1.0), -RANK[f.severity], f.package, f.id)

    def epss(f: Finding) -> tuple:
        return (-(f.epss.score if f.epss else -1.0), not f.kev, -RANK[f.severity], f.package, f.id)

    return {"severity": severity, "kev": kev, "epss": epss}[order]


def exploit_note(finding: Finding) -> str:
    """``KEV`` when known exploited, ``EPSS 94%`` (probability of exploitation in 30 days)."""
    parts = ["KEV"] if finding.kev else []
    if finding.epss is not None:
        parts.append(f"EPSS {finding.epss.score:.0%}" if finding.epss.score >= 0.01 else "EPSS <1%")
    return " ".join(parts)


def render_findings(report: MatchReport, console: Console, order: str = "severity") -> None:
    """Print the findings, most severe first (or by ``order``), with a count per severity;
    ignored findings are left out and counted."""
    findings = sorted((f for f in report.findings if f.ignored is None), key=sort_key(order))
    counts = count_issues(report.findings)
    ignored = counts.ignored
    summary = ", ".join(f"{level} {count}" for level, count in counts.as_dict().items() if count)
    console.print(f"\n[bold]Vulnerabilities: {len(findings)}[/bold]" + (f"  ({summary})" if summary else "")
                  + (f"  [dim]{ignored} ignored (--ignore-file)[/dim]" if ignored else ""))
    split = any(f.from_base is not None for f in findings)
    if split:
        from_base = sum(1 for f in findings if f.from_base)
        console.print(f"{from_base} from the base image, {len(findings) - from_base} from the image's own layers")
    if findings:
        table = Table(show_edge=False, pad_edge=False)
        columns = ("ID", "SEVERITY", "SOURCE", "EXPLOIT", "PACKAGE", "INSTALLED", "FIXED IN", "PATH")
        for column in (*columns, "LAYERS") if split else columns:
            table.add_column(column, overflow="fold")
        for finding in findings:
            fixed = finding.fixed_version or finding.status.value.replace("_", " ")
            severity = f"[{_SEVERITY_STYLE.get(finding.severity, '')}]{finding.severity}[/]" if finding.severity in _SEVERITY_STYLE else finding.severity
            source = "" if finding.severity_source == "none" else finding.severity_source
            row = [finding.id, severity, source, exploit_note(finding), finding.package, finding.installed_version,
                   fixed, finding.path]
            table.add_row(*row, *(["base" if finding.from_base else "own"] if split else []))
        console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
