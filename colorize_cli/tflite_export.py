"""LiteRT export: a model's `.keras` converted to a `.tflite` beside it, and the check that decides its precision.

- **float32**: the same network in TFLite's format (agrees with Keras to float rounding).
- **float16**: float32 with its weights stored in 16 bits: half the file, computed in float32 (the
  weights are widened when the file is loaded); for where a size limit rules out float32.
- **int8** (full-integer): weights and activations in 8 bits, calibrated on the L channel of photos from
  a folder (the activation ranges are measured on them), float32 in and out. Several times faster on
  CPUs, a quarter of the size, and slightly different colour.

`check` colorizes folders of colour photos with the `.keras` (TensorFlow) and with the `.tflite`
(LiteRT) through the same Colorizer path and the evaluate protocol (each photo reduced to its own L,
8-bit sRGB output) and compares PSNR and colourfulness. `keeps_quality` is the shipping rule: int8 is
used only where its PSNR is within 0.1 dB of the float model's and its colourfulness within 1
percentage point (of the truth's colourfulness), on every checked folder; otherwise float32 is written.

The conversion goes through a Keras-exported SavedModel with a static batch of 1 (converting a Keras 3
model's concrete function directly loses its weights, and a dynamic batch makes XNNPACK skip the
transposed convolutions). Needs TensorFlow; running the result does not.
"""

from __future__ import annotations

import copy
import dataclasses
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from colorize_cli import colorspace, data, evaluate, media, metrics, registry
from colorize_cli.errors import ColorizeError

PRECISIONS = ("float32", "float16", "int8")
CALIBRATION_IMAGES = 200
PSNR_TOLERANCE_DB = 0.1
COLOURFULNESS_TOLERANCE = 0.01  # of the truth's colourfulness: 1 percentage point


def convert(generator, precision: str = "float32", calibration: np.ndarray | None = None) -> bytes:
    """A Keras generator (N, S, S, 1) -> (N, S, S, 2) as TFLite flatbuffer bytes, batch fixed to 1.
    int8 needs `calibration`: (K, S, S, 1) normalised L inputs representative of real use."""
    from colorize_cli._keras import keras, tf

    if precision not in PRECISIONS:
        raise ColorizeError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "int8" and (calibration is None or not len(calibration)):
        raise ColorizeError("int8 export needs calibration images: pass --calibrate FOLDER (photos like the ones you will colorize)")
    from colorize_cli.litert import native_stderr_silenced

    from colorize_cli.networks import in_float32

    generator = in_float32(generator)  # a model trained in mixed bfloat16 keeps that policy: the converter cannot
    inputs = keras.Input(generator.input_shape[1:], batch_size=1, name="l")
    fixed = keras.Model(inputs, generator(inputs, training=False), name=generator.name)
    # the converter's C++ side logs its settings and graph notes to fd 2; failures still raise, with the message
    with tempfile.TemporaryDirectory() as saved, native_stderr_silenced():
        fixed.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if precision == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        if precision == "int8":
            samples = np.asarray(calibration, np.float32)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([sample[None]] for sample in samples)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = converter.inference_output_type = tf.float32
        try:
            return converter.convert()
        except Exception as exc:  # the converter raises several types (ConverterError, RuntimeError, ValueError)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ColorizeError(f"{generator.name}: TFLite conversion to {precision} failed ({first}); "
                                f"try float32 (without --int8 or --float16)") from None


def calibration_inputs(folder: Path, size: int, norm: colorspace.Normalization = colorspace.DEFAULT_NORMALIZATION,
                       count: int = CALIBRATION_IMAGES, seed: int = 0) -> tuple[np.ndarray, list[Path]]:
    """Network inputs (K, S, S, 1) made from up to `count` photos of `folder` (a seeded random subset,
    each reduced to its L exactly as the Colorizer does); unreadable files are skipped. Also returns the files."""
    paths = data.list_images(folder)
    if not paths:
        raise ColorizeError(f"{folder}: no images found for calibration; give a folder of photos like the ones you will colorize")
    if len(paths) > count:
        paths = sorted(random.Random(seed).sample(paths, count))
    samples, used = [], []
    for path in paths:
        try:
            image = media.read_image(path)
        except ColorizeError:
            continue
        samples.append(colorspace.model_input(colorspace.lightness(image), size, norm))
        used.append(path)
    if not samples:
        raise ColorizeError(f"{folder}: none of its images could be read for calibration")
    return np.stack(samples).astype(np.float32), used


def on_litert(colorizer, tflite_path: Path, name: str):
    """A copy of a (TensorFlow) Colorizer that runs `tflite_path` instead, with the same card settings
    (normalisation, saturation): the two differ only in the network's runtime."""
    from colorize_cli.litert import LiteRTModel

    twin = copy.copy(colorizer)
    twin._run, twin.backend, twin.generator = LiteRTModel(tflite_path), "litert", None
    twin.card = dataclasses.replace(colorizer.card, name=name)
    return twin


def check(reference, candidate, folders: list[Path], limit: int | None = None, seed: int = 0) -> dict:
    """PSNR and colourfulness of `candidate` against `reference` (two Colorizers) on each folder of colour
    photos, with the evaluate protocol; plus mean |Δab| of their predictions at network size (ab units)."""
    results = {}
    for folder in folders:
        photos = [p for p in evaluate.load_photos(Path(folder), limit, seed) if p.has_truth]
        if not photos:
            raise ColorizeError(f"{folder}: no colour photos to check against; give folders of colour photos (e.g. kodak24)")
        row = {"images": len(photos)}
        truth_colour = float(np.mean([metrics.colorfulness(p.image) for p in photos]))
        for key, colorizer in (("keras", reference), ("tflite", candidate)):
            outputs, _ = evaluate.colorize_all(colorizer, photos)
            colour = float(np.mean([metrics.colorfulness(o) for o in outputs]))
            row[key] = {"psnr": round(float(np.mean([metrics.psnr(o, p.image) for o, p in zip(outputs, photos)])), 4),
                        "colorfulness": round(colour, 4), "colorfulness_ratio": round(colour / truth_colour, 4)}
        inputs = np.stack([reference.prepare(p.image)[1] for p in photos])
        dab = np.abs(reference.predict_ab(inputs) - candidate.predict_ab(inputs)) * reference.norm.ab_scale
        row["mean_abs_dab"] = round(float(dab.mean()), 4)
        row["psnr_delta"] = round(row["tflite"]["psnr"] - row["keras"]["psnr"], 4)
        row["colorfulness_ratio_delta"] = round(row["tflite"]["colorfulness_ratio"] - row["keras"]["colorfulness_ratio"], 4)
        results[Path(folder).name] = row
    return results


def keeps_quality(results: dict) -> tuple[bool, str]:
    """The shipping rule for int8: on every checked folder, PSNR within 0.1 dB and colourfulness within
    1 percentage point of the float model's. Returns (passes, the reason in words)."""
    failures = []
    for name, row in results.items():
        if abs(row["psnr_delta"]) > PSNR_TOLERANCE_DB:
            failures.append(f"{name}: PSNR {row['psnr_delta']:+.3f} dB")
        if abs(row["colorfulness_ratio_delta"]) > COLOURFULNESS_TOLERANCE:
            failures.append(f"{name}: colourfulness {100 * row['colorfulness_ratio_delta']:+.2f} points")
    if failures:
        return False, "outside the tolerance (PSNR ±0.1 dB, colourfulness ±1 point): " + "; ".join(failures)
    return True, "within PSNR ±0.1 dB and colourfulness ±1 point on " + ", ".join(results)


def summary(results: dict) -> str:
    return "; ".join(f"{name}: PSNR {row['keras']['psnr']:.2f} -> {row['tflite']['psnr']:.2f} dB ({row['psnr_delta']:+.3f}), "
                     f"colourfulness {row['keras']['colorfulness_ratio']:.1%} -> {row['tflite']['colorfulness_ratio']:.1%}, "
                     f"mean |Δab| {row['mean_abs_dab']:.2f}" for name, row in results.items())


def export_tflite(model: str, int8: bool = False, calibrate: Path | None = None, check_folders: list[Path] = (),
                  float16: bool = False, calibration_images: int = CALIBRATION_IMAGES, check_limit: int | None = None,
                  log=print) -> registry.ModelCard:
    """Write `<model>.tflite` beside the model's `.keras` and record it on the card (written atomically).

    int8 (with `calibrate`): when `check_folders` are given and int8 fails `keeps_quality`, the float
    file (float16-stored weights with `float16`, else float32) is written instead and the card says why;
    without check folders the int8 file is written unchecked (the card says so). Returns the updated card."""
    from colorize_cli.pipeline import Colorizer
    from colorize_cli.train import write_atomic

    if int8 and calibrate is None:
        raise ColorizeError("--int8 needs --calibrate FOLDER: photos like the ones you will colorize (e.g. the training folder)")
    if calibrate is not None and not int8:
        raise ColorizeError("--calibrate applies to --int8 only; add --int8 or drop --calibrate")
    started = time.perf_counter()
    reference = Colorizer(model, backend="tf", batch_size=8)
    card, keras_path = reference.card, registry.resolve(model)[1]
    card_path = card.path  # a bare .keras given by path: the sidecar .json, created below
    target = keras_path.with_suffix(".tflite")
    tflite: dict = {}

    float_kind = "float16" if float16 else "float32"
    candidates = ["int8", float_kind] if int8 else [float_kind]
    calibration = None
    if int8:
        samples, used = calibration_inputs(Path(calibrate), reference.size, reference.norm, calibration_images)
        calibration = samples
        tflite["calibration"] = {"folder": str(calibrate), "images": len(used), "seed": 0}
    chosen, payload = None, None
    for precision in candidates:
        log(f"converting {card.name} to {precision} TFLite …")
        payload = convert(reference.generator, precision, calibration)
        if not check_folders:
            chosen = precision
            tflite["check"] = "not checked: run `colorize export` with --check FOLDER (colour photos) to measure it"
            break
        with tempfile.TemporaryDirectory() as tmp:
            candidate_path = Path(tmp) / f"{card.name}.tflite"
            candidate_path.write_bytes(payload)
            log(f"checking {precision} against the .keras on {', '.join(Path(f).name for f in check_folders)} …")
            results = check(reference, on_litert(reference, candidate_path, f"{card.name} ({precision})"), check_folders, check_limit)
        passes, reason = keeps_quality(results)
        log(f"{precision}: {summary(results)} — {reason}")
        if precision == "int8" and not passes:
            tflite["int8_rejected"] = {"check": results, "reason": reason}
            continue
        chosen = precision
        tflite["check"] = results
        tflite["rule"] = (f"int8: {reason}" if precision == "int8" else
                          f"{precision}: int8 rejected (see int8_rejected)" if int8 else f"{precision}: int8 not requested")
        break

    write_atomic(target, payload)
    tflite.update({"file": target.name, "precision": chosen, "bytes": len(payload), "sha256": registry.file_sha256(target),
                   "keras_sha256": registry.file_sha256(keras_path), "export_s": round(time.perf_counter() - started, 1)})
    # the card's other fields are kept as they are; only the `tflite` record is replaced
    on_disk = registry.ModelCard.from_file(card_path) if card_path.is_file() else card
    on_disk.tflite = {key: tflite[key] for key in ("file", "precision", "bytes", "sha256", "keras_sha256", "calibration",
                                                   "check", "rule", "int8_rejected", "export_s") if key in tflite}
    if not on_disk.weights:  # a bare .keras given by path gets a card beside it
        on_disk.weights, on_disk.sha256 = keras_path.name, tflite["keras_sha256"]
    write_atomic(card_path, on_disk.to_json().encode())
    on_disk.path = card_path
    size_mb = len(payload) / 2**20
    log(f"wrote {target} ({chosen}, {size_mb:.1f} MB) and its record on {card_path.name}")
    if size_mb > 25:
        log(f"note: {target.name} is over 25 MB, the limit for a bundled model file")
    return on_disk
