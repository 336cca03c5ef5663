"""A human-readable table of the inventory."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from quaywatch.inventory.models import Inventory


def render_table(inventory: Inventory, console: Console) -> None:
    """Print the image header and one row per package."""
    image = inventory.image
    os_name = inventory.os.pretty_name or inventory.os.id if inventory.os else "unknown"
    console.print(f"[bold]{image.reference}[/bold]  {image.digest}  {image.platform}")
    console.print(f"OS: {os_name}   packages: {len(inventory.packages)}   layers: {len(image.layers)}")
    table = Table(show_edge=False, pad_edge=False)
    for column in ("TYPE", "NAME", "VERSION", "SOURCE", "PATH"):
        table.add_column(column, overflow="fold")
    for package in inventory.packages:
        name = package.full_name
        source = ""
        if package.source_name and (package.source_name, package.source_version) != (package.name, package.version):
            source = f"{package.source_name} {package.source_version or ''}".strip()
        table.add_row(package.type, name, package.version, source, package.path)
    console.print(table)
    for warning in inventory.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")

