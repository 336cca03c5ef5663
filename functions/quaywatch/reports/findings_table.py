"""A human-readable table of the findings, most severe first."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from quaywatch.matching.models import MatchReport
from quaywatch.matching.severity import LEVELS, RANK

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "negligible": "dim"}


def render_findings(report: MatchReport, console: Console) -> None:
    """Print the findings, most severe first, with a count per severity; ignored findings are
    left out and counted."""
    findings = sorted((f for f in report.findings if f.ignored is None), key=lambda f: (-RANK[f.severity], f.package, f.id))
    ignored = len(report.findings) - len(findings)
    counts = {level: 0 for level in LEVELS}
    for finding in findings:
        counts[finding.severity] += 1
    summary = ", ".join(f"{level} {count}" for level, count in counts.items() if count)
    console.print(f"\n[bold]Vulnerabilities: {len(findings)}[/bold]" + (f"  ({summary})" if summary else "")
                  + (f"  [dim]{ignored} ignored (--ignore-file)[/dim]" if ignored else ""))
    if findings:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("ID", "SEVERITY", "PACKAGE", "INSTALLED", "FIXED IN", "PATH"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            fixed = finding.fixed_version or finding.status.value.replace("_", " ")
            severity = f"[{_SEVERITY_STYLE.get(finding.severity, '')}]{finding.severity}[/]" if finding.severity in _SEVERITY_STYLE else finding.severity
            table.add_row(finding.id, severity, finding.package, finding.installed_version, fixed, finding.path)
        console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
