"""Rich progress display for training (a Keras callback; imported only by `colorize train`)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Column
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from colorize_cli._keras import keras

SHOWN = ("g_loss", "d_loss", "l1", "wasserstein", "fake_energy")


def rich_progress(console: Console):
    """Factory for `train.train(progress=...)`: a bar over all generator steps with images/s and live losses."""

    def make(total_steps: int, start_step: int, batch_size: int):
        return RichProgress(console, total_steps, start_step, batch_size)

    return make


class RichProgress(keras.callbacks.Callback):
    def __init__(self, console, total_steps, start_step, batch_size):
        super().__init__()
        self.batch_size, self.start_step = batch_size, start_step
        # a short bar, so that the rate and the losses still fit an 80-column terminal
        # (the losses, last, are what gets cut)
        self.progress = Progress(TextColumn("[bold]training"), BarColumn(bar_width=12), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), TextColumn("{task.fields[info]}", table_column=Column(ratio=1, no_wrap=True,
                                                                                                              overflow="ellipsis")),
                                 console=console, expand=True)
        self.task = self.progress.add_task("train", total=total_steps, completed=start_step, info="")
        self.started, self.steps = None, 0

    def on_train_batch_end(self, batch, logs=None):
        if self.started is None:  # the first step includes graph tracing: not a fair rate
            self.started = time.perf_counter()
            self.progress.start()
        else:
            self.steps += 1
        rate = self.steps * self.batch_size / max(time.perf_counter() - self.started, 1e-9)
        shown = " ".join(f"{k}={float(v):.2g}" for k, v in (logs or {}).items() if k in SHOWN)
        self.progress.update(self.task, advance=1, info=f"{rate:.1f} img/s {shown}")

    def close(self):
        self.progress.stop()
