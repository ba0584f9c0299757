"""LiteRT inference: a model's exported `.tflite` file run without TensorFlow.

`ai-edge-litert` is a 60 MB runtime that loads in milliseconds, where importing TensorFlow takes seconds
and 1.3 GB; its XNNPACK kernels also run the full-integer (int8) models that `colorize export --format
tflite --int8` writes several times faster than TensorFlow runs the float network. The file has a static
batch of 1 (a dynamic batch makes TRANSPOSE_CONV shapes runtime-computed, which XNNPACK then refuses to
run), so a batch is run one image at a time through the same interpreter. Several batches can run at once,
each on an interpreter of its own (`LiteRTModel(path, interpreters=2)`, `Colorizer(..., interpreters=2)`):
two one-thread interpreters on alternating batches use the second core where one interpreter binds the
pipeline (640x360 video: 131 -> 172 frames/s on a quiet 2-core machine; docs/litert.md, "Two interpreters").
`Colorizer` runs two by default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import sys
import threading
from pathlib import Path

import numpy as np

from colorize_cli.errors import ColorizeError

INSTALL_HINT = "pip install 'ai-edge-litert>=1.0.1,<3'"


def available() -> bool:
    """Is the LiteRT runtime installed? (Checked without importing it.)"""
    return importlib.util.find_spec("ai_edge_litert") is not None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def model_threads() -> int:
    """Interpreter threads: half the CPUs (one on a 2-core machine). The pipeline's worker threads keep the
    other half busy with the full-resolution colour work and the codecs; and XNNPACK's workers spin while
    waiting for each other, so on a busy machine a second thread made an int8 U-Net 6x slower, not faster
    (3.2 against 18.6 ms per image, measured on 2 shared cores)."""
    return max(1, _cpus() // 2)


@contextlib.contextmanager
def native_stderr_silenced():
    """The runtime's C++ logger prints an INFO line ("Created TensorFlow Lite XNNPACK delegate") straight
    to file descriptor 2 and has no switch: point fd 2 at /dev/null while the interpreter is built.
    Errors while loading still surface, as the Python exception the caller turns into one line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class LiteRTModel:
    """`LiteRTModel(path)(l_batch)`: (N, S, S, 1) normalised L -> (N, S, S, 2) normalised ab, float32.

    Float or quantized inputs and outputs are both accepted (quantized ones are converted with the
    file's scale and zero point). `interpreters`: how many calls may run at once, from different threads,
    each on an interpreter of its own (built when first needed) of `threads` threads (default: the
    machine's `model_threads()` shared among them). Every interpreter computes the same numbers."""

    def __init__(self, path: Path, threads: int | None = None, interpreters: int = 1):
        self.path = Path(path)
        if not available():
            raise ColorizeError(f"{self.path}: running .tflite models needs the LiteRT runtime: {INSTALL_HINT}")
        if not self.path.is_file():
            raise ColorizeError(f"{self.path}: model file not found; re-export it with `colorize export MODEL --format tflite`")
        self.parallel = max(1, interpreters)
        self.threads = threads or max(1, model_threads() // self.parallel)
        self.interpreter = self._new_interpreter()
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ColorizeError(f"{self.path}: not a colorization model: expected one input and one output, "
                                f"got {len(inputs)} and {len(outputs)}")
        self.input, self.output = inputs[0], outputs[0]
        shape, out_shape = tuple(self.input["shape"]), tuple(self.output["shape"])
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 1 or shape[1] != shape[2] or out_shape != (1, shape[1], shape[2], 2):
            raise ColorizeError(f"{self.path}: not a colorization model: expected input (1, S, S, 1) and output "
                                f"(1, S, S, 2), got {shape} -> {out_shape}")
        self.size = int(shape[1])
        self.precision = "int8" if any(d["dtype"] in (np.int8, np.uint8) for d in self.interpreter.get_tensor_details()) else "float32"
        # an interpreter is not re-entrant: each call takes one from the free ones (or builds one, up to
        # `parallel`) and gives it back
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._free.put(self.interpreter)
        self._built, self._building = 1, threading.Lock()

    def _new_interpreter(self):
        from ai_edge_litert.interpreter import Interpreter

        with native_stderr_silenced():
            try:
                interpreter = Interpreter(model_path=str(self.path), num_threads=self.threads)
                interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ColorizeError(f"{self.path}: not a usable TFLite model ({first}); re-export it with "
                                    f"`colorize export MODEL --format tflite`") from None
        return interpreter

    def _take(self):
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._building:
            build = self._built < self.parallel
            self._built += build
        return self._new_interpreter() if build else self._free.get()

    def _to_input(self, l_one: np.ndarray) -> np.ndarray:
        dtype = self.input["dtype"]
        if dtype == np.float32:
            return l_one
        scale, zero = self.input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(l_one / scale + zero), info.min, info.max).astype(dtype)

    def _from_output(self, raw: np.ndarray) -> np.ndarray:
        if self.output["dtype"] == np.float32:
            return raw
        scale, zero = self.output["quantization"]
        return (raw.astype(np.float32) - zero) * np.float32(scale)

    def __call__(self, l_batch: np.ndarray) -> np.ndarray:
        l_batch = np.asarray(l_batch, dtype=np.float32)
        out = np.empty((*l_batch.shape[:3], 2), np.float32)
        interpreter = self._take()
        try:
            for i in range(len(l_batch)):
                interpreter.set_tensor(self.input["index"], self._to_input(l_batch[i:i + 1]))
                interpreter.invoke()
                out[i] = self._from_output(interpreter.get_tensor(self.output["index"])[0])
        finally:
            self._free.put(interpreter)
        return out
