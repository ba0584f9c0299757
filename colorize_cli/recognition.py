"""The semantic metric of `colorize eval --classifier`: does an ImageNet classifier still recognise the photo?

For each photo, the class the classifier gives the true colour photo (its top-1) is the label. A
colorization is scored by whether that label is among the classifier's top 5 for it (agreement), and by
the KL divergence from the truth's class distribution to the colorization's. The gray baseline is
measured the same way, so a colorizer whose colours mislead the classifier (a blue cat, a brown sky)
shows up as agreement below gray.

The classifier is any image-classification TFLite file (float or quantized, softmax or logits output),
run by the LiteRT interpreter where installed, else TensorFlow's. A judge that shares weights with the
colorizer's own encoder flatters it: check with an independent classifier as well.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from colorize_cli.errors import ColorizeError

TOP_K = 5
_EPS = 1e-7


def _interpreter(path: Path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from colorize_cli._keras import tf

            Interpreter = tf.lite.Interpreter
        except ImportError:
            raise ColorizeError("--classifier needs a TFLite runtime: pip install ai-edge-litert") from None
    try:
        return Interpreter(model_path=str(path), num_threads=2)
    except (ValueError, RuntimeError) as exc:
        raise ColorizeError(f"{path}: not a TFLite model ({str(exc).splitlines()[0]}); pass a .tflite classifier") from None


class Classifier:
    """An image classifier from a TFLite file: 8-bit BGR photos in, class probabilities out."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise ColorizeError(f"{path}: classifier file not found; pass a .tflite image classifier to --classifier")
        self.path = path
        self.interpreter = _interpreter(path)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        shape = self.input["shape"]
        if len(shape) != 4 or shape[3] != 3:
            raise ColorizeError(f"{path}: expected an image classifier with input (1, H, W, 3), got {tuple(shape)}")
        self.height, self.width = int(shape[1]), int(shape[2])
        try:  # does the graph end in a softmax? (else its output is logits)
            last = [op for op in self.interpreter._get_ops_details() if self.output["index"] in list(op["outputs"])]
            self.outputs_probabilities = last[0]["op_name"] == "SOFTMAX"
        except (AttributeError, IndexError, KeyError, TypeError):
            self.outputs_probabilities = None  # decide from the values

    def _input(self, bgr: np.ndarray) -> np.ndarray:
        """Centre square crop, resize to the input size, RGB, in the file's number format. A float input
        takes the common ImageNet-TFLite convention x / 127.5 - 1; a quantized one its own scale/zero point
        applied to that convention."""
        if bgr.ndim == 2:
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        h, w = bgr.shape[:2]
        side = min(h, w)
        crop = bgr[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
        rgb = cv2.cvtColor(cv2.resize(crop, (self.width, self.height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        x = rgb.astype(np.float32) / 127.5 - 1.0
        dtype = self.input["dtype"]
        if np.issubdtype(dtype, np.integer):
            scale, zero = self.input["quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        return x[None].astype(dtype)

    def probabilities(self, bgr: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], self._input(bgr))
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self.output["index"])[0].astype(np.float32).ravel()
        scale, zero = self.output.get("quantization", (0.0, 0))
        if scale:
            out = (out - zero) * scale
        probabilities = self.outputs_probabilities
        if probabilities is None:
            probabilities = out.min() >= 0 and out.max() <= 1 and 0.5 < out.sum() < 1.5
        if not probabilities:  # logits
            out = np.exp(out - out.max())
        return out / max(out.sum(), _EPS)


def agreement(truth: np.ndarray, output: np.ndarray, k: int = TOP_K) -> bool:
    """Is the truth's top-1 class among the output's top k?"""
    return bool(int(np.argmax(truth)) in np.argsort(-output)[:k])


def kl_divergence(truth: np.ndarray, output: np.ndarray) -> float:
    """KL(truth || output) in nats, with a small floor so a zero probability does not give infinity."""
    p, q = np.maximum(truth, _EPS), np.maximum(output, _EPS)
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))
