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
                 saturation: float | None = None, backend: str = "auto", interpreters: int = 2):
        """`backend`: "litert" runs the model's exported .tflite (no TensorFlow), "tf" its .keras through
        TensorFlow, "auto" LiteRT when the model has a current .tflite (see `choose_backend`).
        `interpreters` (LiteRT): how many batches `run` may have in the network at once, each on an
        interpreter of its own (of one thread on two cores), for images of at most `NETWORK_BOUND_PIXELS`.
        Two by default: on a quiet 2-core machine 640x360 video went from 131 to 172 frames/s, larger images
        (which never put a second batch in) the same within noise (docs/litert.md, "Two interpreters")."""
        colorspace.build_tables_in_background()  # overlaps OpenCV's one-off set-up with loading the model
        self.generator = None  # the Keras network, on the TensorFlow backend only
        self.backend, tflite = choose_backend(model, backend)
        if self.backend == "litert":
            from colorize_cli.litert import LiteRTModel

            self.card, path = tflite
            self._run = LiteRTModel(path, interpreters=interpreters)
            self.card.input_size = self._run.size
        else:
            self.generator, self.card = registry.load_generator(model)
            self._predict = compiled(self.generator, self.card.input_size)
            self._run = lambda x: self._predict(x).numpy()
        # regression-trained models hedge towards gray; scaling ab trades PSNR for vivid colour (the
        # role of Zhang et al.'s annealed-mean temperature). None: the card's calibrated value
        self.saturation = float(self.card.saturation if saturation is None else saturation)
        self.size, self.norm = self.card.input_size, self.card.norm
        self.batch_size, self.workers = max(1, batch_size), max(1, workers)

    @property
    def name(self) -> str:
        return self.card.name

    def predict_ab(self, l_batch: np.ndarray) -> np.ndarray:
        """(N, S, S, 1) normalised L -> (N, S, S, 2) normalised ab (times the saturation; at network size: cheap)."""
        ab = self._run(np.asarray(l_batch, dtype=np.float32))
        return ab * np.float32(self.saturation) if self.saturation != 1.0 else ab

    # -- the two halves of the full-resolution path -------------------------------------------
    def prepare(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """OpenCV-ordered image -> (full-resolution L, network input)."""
        lightness = colorspace.lightness(image)
        return lightness, colorspace.model_input(lightness, self.size, self.norm)

    def finish(self, image: np.ndarray, lightness: np.ndarray, ab_norm: np.ndarray, hints=None) -> np.ndarray:
        """Merge predicted ab with the original L; same size, bit depth and alpha as `image` (BGR order).
        `hints` (a `hints.Hints` for this image): the user's colours propagated over the prediction."""
        if hints is not None and not hints.empty:
            from colorize_cli import hints as guided

            return guided.render(image, lightness, ab_norm, hints, self.norm)
        return colorspace.render(image, lightness, ab_norm, self.norm)

    def colorize_bgr(self, image: np.ndarray, hints=None) -> np.ndarray:
        """OpenCV-ordered image -> colorized BGR(A); `hints`: a `hints.Hints` made for this image."""
        lightness, net_input = self.prepare(image)
        return self.finish(image, lightness, self.predict_ab(net_input[None])[0], hints)

    def colorize(self, image: np.ndarray, hints=None, hint_size: int | None = None, hint_reach: float | None = None,
                 reference=None) -> np.ndarray:
        """Gray (H, W), RGB or RGBA array (uint8/uint16/float in [0, 1]) -> colourised RGB(A) array.

        `hints`: colours the user knows, propagated over the automatic result along the photo's edges
        (`colorize_cli.hints`): an RGBA array (any size with the image's aspect ratio; every pixel with
        alpha > 0 is a hint of its colour), an RGB copy of the image with colour painted on it, or a list
        of `(x, y, colour)` with colour an (r, g, b) triple in 0..255, '#RRGGBB' or a CSS name, each a
        square patch of side `hint_size` (default 5). Only the hints' chroma counts; lightness stays the image's.
        `hint_reach`: how far their colour spreads, in picture sizes, each edge crossed counting extra
        (default 1: the hint's own region; 4 and more: most of the photo; inf: pure Levin, every region it connects to).
        `reference`: a colour photo (RGB(A) array or a file path), a list of them, or a `reference.Reference`:
        its colours are matched to the image's by lightness features and applied where they match (hints win)."""
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)) or image.size == 0:
            raise ValueError(f"expected a gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) image, got shape {image.shape}")
        is_float = image.dtype.kind == "f"
        if is_float:  # processed at 16 bits, returned as float32 in [0, 1]
            image = (np.clip(image, 0, 1) * 65535 + 0.5).astype(np.uint16)
        elif image.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"expected uint8, uint16 or float pixels, got {image.dtype}")
        swapped = np.ascontiguousarray(image[:, :, [2, 1, 0, 3][: image.shape[2]]] if image.ndim == 3 and image.shape[2] >= 3 else image)
        if hints is not None:
            from colorize_cli import hints as guided

            hints = guided.resolve(hints, swapped, hint_size or guided.DEFAULT_SIZE, rgb_order=True, reach=hint_reach)
        if reference is not None:
            import dataclasses

            from colorize_cli import hints as guided, reference as references

            base = hints if hints is not None else guided.Hints.none(swapped.shape[:2])
            hints = dataclasses.replace(base, reference=references.resolve(reference, rgb_order=True))
        out = self.colorize_bgr(swapped, hints)
        out = out[:, :, [2, 1, 0, 3][: out.shape[2]]]
        return out.astype(np.float32) / 65535 if is_float else out

    # -- many images, pipelined ---------------------------------------------------------------------
    def run(self, jobs: Iterable, load: Callable, save: Callable | None = None, ab_hook: Callable | None = None,
            hints_of: Callable | None = None) -> Iterator[tuple[object, np.ndarray | None, BaseException | None]]:
        """Colorize a stream of jobs: `load(job) -> image` and `save(job, image)` run in worker threads,
        the model sees batches. Yields `(job, output, error)` in input order: `output` is the colorized
        image when there is no `save`, `error` the exception that job raised; one failing job never stops
        the others. `ab_hook(net_input, ab) -> ab` sees every prediction in order (temporal smoothing);
        `hints_of(job, image) -> hints.Hints | None`, called in order after it, gives a job's hints."""
        jobs = iter(jobs)
        # batches in the network at once: up to one per interpreter (TensorFlow runs one call at a time
        # here), and more than one only while the images are small enough for the network to bind
        parallel = max(1, getattr(self._run, "parallel", 1))
        at_once = 1
        lookahead = 2 * self.batch_size  # images loaded ahead: one batch more than the network holds
        with ThreadPoolExecutor(self.workers) as pool, ThreadPoolExecutor(parallel) as network:
            loading: deque = deque()
            predicting: deque = deque()  # (batch, future of its ab), oldest first
            finishing: deque = deque()

            def load_and_prepare(job):
                image = load(job)
                return (image, *self.prepare(image))

            def finish(job, image, lightness, ab, hints=None):
                output = self.finish(image, lightness, ab, hints)
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

            def hand_on(batch, ab):  # in input order: the smoothing and the hints follow the stream
                predicted = iter(ab)
                for job, loaded in batch:
                    if isinstance(loaded, Future):  # its loading failed: reported in its place
                        finishing.append((job, loaded))
                        continue
                    image, lightness, net_input = loaded
                    ab_one = next(predicted)
                    if ab_hook is not None:
                        ab_one = ab_hook(net_input, ab_one)
                    try:
                        hints = hints_of(job, image) if hints_of is not None else None
                    except Exception as exc:  # e.g. hints that do not fit this image: that job fails
                        finishing.append((job, _failed(exc)))
                        continue
                    finishing.append((job, pool.submit(finish, job, image, lightness, ab_one, hints)))

            refill()
            while loading or predicting or finishing:
                if loading and len(predicting) < at_once:
                    batch, inputs = [], []  # batch: (job, its loaded image or the failure), in input order
                    while loading and len(inputs) < self.batch_size:
                        job, future = loading.popleft()
                        try:
                            batch.append((job, future.result()))
                            inputs.append(batch[-1][1][2])
                        except Exception as exc:  # reported per job by the caller
                            batch.append((job, _failed(exc)))
                    refill()
                    small = all(loaded[0].shape[0] * loaded[0].shape[1] <= NETWORK_BOUND_PIXELS
                                for _, loaded in batch if not isinstance(loaded, Future))
                    at_once = parallel if small else 1
                    lookahead = (at_once + 1) * self.batch_size
                    predicting.append((batch, network.submit(self.predict_ab, np.stack(inputs)) if inputs else _done([])))
                # wait for the oldest batch only when as many run as may, or the input is done
                while predicting and (predicting[0][1].done() or len(predicting) >= at_once or not loading):
                    batch, future = predicting.popleft()
                    hand_on(batch, future.result())
                # hand back finished work in order; wait only when too much is in flight or input is done
                while finishing and (finishing[0][1].done() or len(finishing) > lookahead or not loading):
                    job, future = finishing.popleft()
                    error = future.exception()
                    yield job, (None if error else future.result()), error


_END = object()
# With several interpreters, images of at most this many pixels let `run` put a second batch into the
# network beside the first: the network's cost per image is fixed, the full-resolution work (decode,
# colour, encode) grows with the pixels, so only small images leave the network binding. Per stage on
# 2 cores: 640x360 video (0.23 Mpx) network 6.5 ms against 5 ms for the rest; 1024x768 photos (0.79 Mpx)
# 6.7 against 5.8; 1280x720 video (0.92 Mpx) 6.5 against 15-20 (docs/litert.md, "Two interpreters").
NETWORK_BOUND_PIXELS = 500_000
BACKENDS = ("auto", "litert", "tf")


def choose_backend(model: str, backend: str = "auto") -> tuple[str, tuple | None]:
    """("litert", (card, .tflite path)) or ("tf", None) for a model name or file.

    auto: a .tflite path, or a registered model whose card names a .tflite converted from its current
    .keras, runs on LiteRT, unless TensorFlow is installed and sees a GPU and the model's .keras is here
    (then the .keras on the GPU is faster); a .keras path (the user's own file) runs on TensorFlow."""
    from colorize_cli.errors import ColorizeError

    if backend not in BACKENDS:
        raise ColorizeError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "tf":
        if model.endswith(".tflite"):
            raise ColorizeError(f"{model}: a .tflite file runs on LiteRT only; use --backend litert or the model's .keras")
        return "tf", None
    tflite = registry.resolve_tflite(model)
    if backend == "litert":
        if tflite is None:
            raise ColorizeError(f"model {model!r} has no current .tflite export; create one with "
                                f"`colorize export {model} --format tflite` or use --backend tf")
        return "litert", tflite
    from colorize_cli import litert

    # a model installed as .tflite only (the light wheel) runs on LiteRT even beside a GPU: there is no .keras
    if tflite is not None and litert.available() and (not tflite[0].has_weights or not tensorflow_sees_gpu()):
        return "litert", tflite
    return "tf", None


def tensorflow_sees_gpu() -> bool:
    """True when TensorFlow is installed and finds a GPU. Importing TensorFlow costs seconds, so it is
    only asked where a GPU driver exists (NVIDIA, ROCm or WSL device nodes)."""
    import importlib.util
    import os

    if importlib.util.find_spec("tensorflow") is None:
        return False
    if not any(os.path.exists(node) for node in ("/dev/nvidia0", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg")):
        return False
    from colorize_cli._keras import tf

    return bool(tf.config.list_physical_devices("GPU"))


def compiled(generator, size: int):
    """`generator` as a graph with a fixed (N, size, size, 1) signature: ~3x faster per call than model.predict."""
    from colorize_cli._keras import tf

    spec = tf.TensorSpec([None, size, size, 1], tf.float32)
    return tf.function(lambda x: generator(x, training=False), input_signature=[spec])


def _done(result) -> Future:
    future: Future = Future()
    future.set_result(result)
    return future


def _failed(exc: BaseException) -> Future:
    future: Future = Future()
    future.set_exception(exc)
    return future
