"""Progress reporting for long jobs (archive, retention, backups), kept apart from the work.

Services report through a ``Tracker``: ``stage`` starts a named step with an optional total,
``advance`` moves it on. Pipelines pass ``NULL_TRACKER``; the CLI passes a rich progress bar via
``rich_tracker``, so every long command shows a bar without the service knowing about terminals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Tracker(Protocol):
    def stage(self, description: str, total: float | None = None) -> None:
        """Start a new step; ``total`` in the step's own units (rows, bytes, tables)."""
        ...

    def advance(self, amount: float = 1) -> None: ...


class _NullTracker:
    def stage(self, description: str, total: float | None = None) -> None:
        return None

    def advance(self, amount: float = 1) -> None:
        return None


NULL_TRACKER: Tracker = _NullTracker()


class _RichTracker:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def stage(self, description: str, total: float | None = None) -> None:
        if self._task is None:
            self._task = self._progress.add_task(description, total=total)
        else:
            self._progress.reset(self._task, description=description, total=total)

    def advance(self, amount: float = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


@contextmanager
def rich_tracker(console: Console) -> Iterator[Tracker]:
    """A progress bar on ``console`` (stderr in the CLI), removed when the block ends."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        yield _RichTracker(progress)
