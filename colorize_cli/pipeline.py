"""Colorizer: a loaded model plus the full-resolution colour path, for single images and streams.

The network always runs at its fixed input size on a batch of L channels; everything at full
resolution (L extraction, ab up-sampling, LAB->BGR, encoding) is OpenCV work done in worker threads
while the model runs (OpenCV and TensorFlow both release the GIL)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

import numpy as np

from colorize_cli import colorspace, registry


class Colorizer:
    """`Colorizer("lsgan").colorize(rgb)` -> colourised RGB array (same size, dtype and alpha)."""

    def __init__(self, model: str = registry.DEFAULT_MODEL, batch_size: int = 8, workers: int = 2,
                 saturation: float | None = None):
        self.generator, self.card = registry.load_generator(model)
        # regression-trained models hedge towards gray; scaling ab trades PSNR for vivid colour (the
        # role of Zhang et al.'s annealed-mean temperature). None: the card's calibrated value
        self.saturation = float(self.card.saturation if saturation is None else saturation)
        self.size, self.norm = self.card.input_size, self.card.norm
        self.batch_size, self.workers = max(1, batch_size), max(1, workers)
        self._predict = compiled(self.generator, self.size)

    @property
    def name(self) -> str:
        return self.card.name

    def predict_ab(self, l_batch: np.ndarray) -> np.ndarray:
        """(N, S, S, 1) normalised L -> (N, S, S, 2) normalised ab (times the saturation; at network size: cheap)."""
        ab = self._predict(np.asarray(l_batch, dtype=np.float32)).numpy()
        return ab * np.float32(self.saturation) if self.saturation != 1.0 else ab

    # -- the two halves of the full-resolution path -------------------------------------------
    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """OpenCV-ordered image -> (full-resolution L, network input)."""
        lightness = colorspace.lightness(image)
        return lightness, colorspace.model_input(lightness, self.size, self.norm)

    def finish(self, image: np.ndarray, lightness: np.ndarray, ab_norm: np.ndarray) -> np.ndarray:
        """Merge predicted ab with the original L; same size, bit depth and alpha as `image` (BGR order)."""
        return colorspace.render(image, lightness, ab_norm, self.norm)

    def colorize_bgr(self, image: np.ndarray) -> np.ndarray:
        lightness, net_input = self.prepare(image)
        return self.finish(image, lightness, self.predict_ab(net_input[None])[0])

    def colorize(self, image: np.ndarray) -> np.ndarray:
        """Gray (H, W), RGB or RGBA array (uint8/uint16/float in [0, 1]) -> colourised RGB(A) array."""
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)) or image.size == 0:
            raise ValueError(f"expected a gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) image, got shape {image.shape}")
        is_float = image.dtype.kind == "f"
        if is_float:  # processed at 16 bits, returned as float32 in [0, 1]
            image = (np.clip(image, 0, 1) * 65535 + 0.5).astype(np.uint16)
        elif image.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"expected uint8, uint16 or float pixels, got {image.dtype}")
        swapped = image[:, :, [2, 1, 0, 3][: image.shape[2]]] if image.ndim == 3 and image.shape[2] >= 3 else image
        out = self.colorize_bgr(np.ascontiguousarray(swapped))
        out = out[:, :, [2, 1, 0, 3][: out.shape[2]]]
        return out.astype(np.float32) / 65535 if is_float else out

    # -- many images, pipelined ---------------------------------------------------------------------
    def run(self, jobs: Iterable, load: Callable, save: Callable | None = None,
            ab_hook: Callable | None = None) -> Iterator[tuple[object, np.ndarray | None, BaseException | None]]:
        """Colorize a stream of jobs: `load(job) -> image` and `save(job, image)` run in worker threads,
        the model sees batches. Yields `(job, output, error)` in input order: `output` is the colorized
        image when there is no `save`, `error` the exception that job raised; one failing job never stops
        the others. `ab_hook(net_input, ab) -> ab` sees every prediction in order (temporal smoothing)."""
        jobs = iter(jobs)
        lookahead = 2 * self.batch_size
        with ThreadPoolExecutor(self.workers) as pool:
            loading: deque = deque()
            finishing: deque = deque()

            def load_and_prepare(job):
                image = load(job)
                return (image, *self.prepare(image))

            def finish(job, image, lightness, ab):
                output = self.finish(image, lightness, ab)
                if save is None:
                    return output
                save(job, output)
                return None

            def refill():
                while len(loading) < lookahead:
                    job = next(jobs, _END)
                    if job is _END:
                        return
                    loading.append((job, pool.submit(load_and_prepare, job)))

            refill()
            while loading or finishing:
                batch = []
                while loading and len(batch) < self.batch_size:
                    job, future = loading.popleft()
                    try:
                        batch.append((job, *future.result()))
                    except Exception as exc:  # reported per job by the caller
                        finishing.append((job, _failed(exc)))
                refill()
                if batch:
                    ab = self.predict_ab(np.stack([item[3] for item in batch]))
                    for (job, image, lightness, net_input), ab_one in zip(batch, ab):
                        if ab_hook is not None:
                            ab_one = ab_hook(net_input, ab_one)
                        finishing.append((job, pool.submit(finish, job, image, lightness, ab_one)))
                # hand back finished work in order; wait only when too much is in flight or input is done
                while finishing and (finishing[0][1].done() or len(finishing) > lookahead or not loading):
                    job, future = finishing.popleft()
                    error = future.exception()
                    yield job, (None if error else future.result()), error


_END = object()


def compiled(generator, size: int):
    """`generator` as a graph with a fixed (N, size, size, 1) signature: ~3x faster per call than model.predict."""
    from colorize_cli._keras import tf

    spec = tf.TensorSpec([None, size, size, 1], tf.float32)
    return tf.function(lambda x: generator(x, training=False), input_signature=[spec])


def _failed(exc: BaseException) -> Future:
    future: Future = Future()
    future.set_exception(exc)
    return future
