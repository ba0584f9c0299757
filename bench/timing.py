"""Per-stage CPU timing shared by the bench scripts."""

from __future__ import annotations

import time


def stage_cpu_ms(fn, items) -> tuple[float, list]:
    """(CPU ms per item of `fn` alone, its results). Timed in a steady state: each result is dropped
    before the next call, as the pipeline drops it once written, so the allocator reuses memory. Keeping
    every result while timing would make each call page in fresh memory (a 720p frame's float planes:
    several ms of page faults) and charge that to the stage. The results for the next stage are then
    computed again, untimed."""
    items = list(items)
    if not items:
        return 0.0, []
    fn(items[0])  # first-call costs (tables, caches, thread pools) are not the stage's per-item cost
    started = time.process_time()
    for item in items:
        fn(item)
    ms = 1000 * (time.process_time() - started) / len(items)
    return ms, [fn(item) for item in items]
