"""Progress bars: the one helper behind every bar the commands show (photo folders, videos, eval, train's
check of its photos and its steps). Labels and fields are printed literally (no rich markup)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column

SHOWN = ("g_loss", "d_loss", "l1", "wasserstein", "fake_energy")  # the training losses the bar shows


class Bar:
    """`label ━━━━╸ 12/60 3.2 img/s 0:00:15 [info]`: a context manager; `advance()` once per unit done.

    `unit` ("img/s"): show the rate; `info`: a free text field at the end (training's losses), the bar
    then short so that it fits 80 columns; `transient`: the bar disappears when done (eval, photo check)."""

    def __init__(self, console: Console, label: str, total: int | None = None, *, unit: str | None = None,
                 transient: bool = False, disable: bool = False, info: bool = False, completed: int = 0):
        columns = [TextColumn(label, style="bold", markup=False), BarColumn(bar_width=12 if info else 40), MofNCompleteColumn()]
        if info:
            columns.append(TimeElapsedColumn())
        if unit:
            columns.append(TextColumn("{task.fields[rate]}", markup=False))
        columns.append(TimeRemainingColumn())
        if info:  # last, so that the losses are what an 80-column terminal cuts
            columns.append(TextColumn("{task.fields[info]}", markup=False,
                                      table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")))
        self.progress = Progress(*columns, console=console, transient=transient, disable=disable, expand=info)
        self.task = self.progress.add_task(label, total=total, completed=completed, rate="", info="")
        self.unit, self.count, self.started = unit, completed, time.perf_counter()

    @property
    def console(self) -> Console:
        """Print through this while the bar runs: lines appear above it."""
        return self.progress.console

    def __enter__(self) -> "Bar":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.started = time.perf_counter()
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()

    def advance(self, steps: int = 1, info: str | None = None) -> None:
        self.update(self.count + steps, info)

    def update(self, completed: int, info: str | None = None) -> None:
        """`completed` units done in all (the rate: per second since the bar started)."""
        self.count = completed
        fields = {} if info is None else {"info": info}
        if self.unit:
            fields["rate"] = f"{completed / max(time.perf_counter() - self.started, 1e-9):.1f} {self.unit}"
        self.progress.update(self.task, completed=completed, **fields)

    def more(self, units: int) -> None:
        """The work grew by `units` (eval announces each photo's scoring as it reads it)."""
        total = self.progress.tasks[0].total or 0
        self.progress.update(self.task, total=total + units)


def rich_progress(console: Console):
    """Factory for `train.train(progress=...)`: a bar over all generator steps with images/s and the live
    losses (a Keras callback; Keras is imported only here, when training starts)."""
    from colorize_cli._keras import keras

    class RichProgress(keras.callbacks.Callback):
        def __init__(self, total_steps, start_step, batch_size):
            super().__init__()
            self.batch_size, self.start_step = batch_size, start_step
            self.bar = Bar(console, "training", total_steps, info=True, completed=start_step)
            self.timed = None  # steps since the first, whose graph tracing makes no fair rate

        def on_train_batch_end(self, batch, logs=None):
            if self.timed is None:
                self.timed = 0
                self.bar.start()
            else:
                self.timed += 1
            rate = self.timed * self.batch_size / max(time.perf_counter() - self.bar.started, 1e-9)
            shown = " ".join(f"{k}={float(v):.2g}" for k, v in (logs or {}).items() if k in SHOWN)
            self.bar.advance(info=f"{rate:.1f} img/s {shown}")

        def close(self):
            self.bar.stop()

    def make(total_steps: int, start_step: int, batch_size: int):
        return RichProgress(total_steps, start_step, batch_size)

    return make
