"""The progress bar of ``quaywatch scan``: compressed layer bytes done of the image's total.

Drawn on stderr, so stdout stays a clean report for pipes; transient, so it leaves nothing
behind once the report is printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from quaywatch.registry.manifests import Descriptor


class LayerProgressBar:
    """A ``ScanProgress`` that draws one bar for the image (use it as a context manager)."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[layers]}"),
            TimeElapsedColumn(), console=console or Console(stderr=True), transient=True,
        )
        self._task: TaskID | None = None
        self._total_layers = 0
        self._done = 0
        self._cached = 0

    def __enter__(self) -> LayerProgressBar:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._progress.stop()

    def layers_found(self, layers: Sequence[Descriptor]) -> None:
        self._total_layers = len(layers)
        self._task = self._progress.add_task(
            "scanning layers", total=sum(layer.size for layer in layers), layers=self._layers_text()
        )

    def layer_done(self, layer: Descriptor, cached: bool) -> None:
        self._done += 1
        self._cached += cached
        if self._task is not None:
            self._progress.update(self._task, advance=layer.size, layers=self._layers_text())

    def _layers_text(self) -> str:
        cached = f", {self._cached} cached" if self._cached else ""
        return f"{self._done}/{self._total_layers} layers{cached}"
