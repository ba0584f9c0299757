"""Inference choices, measured on the validation split: does any beat the shipped path at equal colour?

    .venv/bin/python recipes/inference.py [MODEL] [--partner gan] [--saturations 0.7 0.8 ... 1.45]

The shipped path runs the network once at its input size and up-samples ab bilinearly under the
full-resolution L. Each variant below changes one of those choices:

  guided    ab up-sampled by a fast guided filter with L as the guide (colour edges follow L edges)
  flip      the mean of the prediction and its mirror image's prediction (2 network passes)
  256px     the same weights on a 256 px input (more detail in; the U-Net stops at 2x2, not 1x1)
  ensemble  the mean ab of MODEL and --partner (2 networks)

Every variant is tried at several saturations on the trainer's held-out validation photos with
`colorize_cli.selection`'s protocol, as recipes/validate.py (macro averages over source folders; the eval sets are never used).
Saturation trades PSNR for colour, so the figure that decides is each variant's PSNR gain
interpolated at the selection bar's colourfulness (60 % of the truth's): gains at equal colour.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli import evaluate, networks, selection  # noqa: E402
from colorize_cli.pipeline import Colorizer, compiled  # noqa: E402


def guided_upsample(lightness: np.ndarray, ab_norm: np.ndarray, radius: int = 2, eps: float = 2e-3) -> np.ndarray:
    """Fast guided up-sampling (He & Sun 2015): fit ab = a*L + b in (2r+1)^2 windows at network size,
    up-sample a and b bilinearly, apply them to the full-resolution L. Returns full-resolution ab in the
    same (normalised) units: the fit is linear in ab, so its scale does not matter."""
    size = ab_norm.shape[0]
    guide = cv2.resize(lightness, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 100
    ab = np.asarray(ab_norm, np.float32)

    def mean(x):
        return cv2.boxFilter(x, -1, (2 * radius + 1,) * 2, borderType=cv2.BORDER_REFLECT)

    guide_mean, ab_mean = mean(guide), mean(ab)
    variance = mean(guide * guide) - guide_mean**2
    slope = (mean(guide[:, :, None] * ab) - guide_mean[:, :, None] * ab_mean) / (variance[:, :, None] + eps)
    offset = ab_mean - slope * guide_mean[:, :, None]
    height, width = lightness.shape[:2]
    slope, offset = (cv2.resize(mean(x), (width, height), interpolation=cv2.INTER_LINEAR) for x in (slope, offset))
    return slope * (lightness.astype(np.float32) / 100)[:, :, None] + offset


class Variant(Colorizer):
    """The shipped Colorizer with inference choices switched on; shallow copies share the network."""

    guided = False
    flip = False
    partner: Colorizer | None = None

    def predict_ab(self, l_batch: np.ndarray) -> np.ndarray:
        x = np.asarray(l_batch, np.float32)
        ab = self._predict(x).numpy()
        if self.flip:
            ab = 0.5 * (ab + self._predict(np.ascontiguousarray(x[:, :, ::-1])).numpy()[:, :, ::-1])
        if self.partner is not None:
            ab = 0.5 * (ab + self.partner._predict(x).numpy())
        return ab * np.float32(self.saturation)

    def finish(self, image, lightness, ab_norm):
        # full-resolution ab goes through the shipped merge unchanged (it only up-samples smaller ab)
        return super().finish(image, lightness, guided_upsample(lightness, ab_norm) if self.guided else ab_norm)

    def at_input_size(self, size: int) -> "Variant":
        """The same weights rebuilt for a larger square input (the model file fixes its input shape)."""
        card = self.card
        if card.arch == "unet":
            generator = networks.unet_generator(size, card.width, levels=networks._depth_for(card.input_size))
        else:
            generator = networks.colorful_generator(size, card.width)
        generator.set_weights(self.generator.get_weights())
        twin = copy.copy(self)
        twin.generator, twin.size, twin._predict = generator, size, compiled(generator, size)
        return twin

    def named(self, name: str, **switches) -> "Variant":
        """A copy called `name` (its table rows) with some inference choices switched."""
        twin = copy.copy(self)
        twin.card = dataclasses.replace(self.card, name=name)
        for switch, value in switches.items():
            setattr(twin, switch, value)
        return twin


def at_colourfulness(rows: list[dict], target: float) -> float | None:
    """Macro PSNR gain linearly interpolated at `target` colourfulness (None: the rows do not bracket it)."""
    rows = sorted(rows, key=lambda r: r["colorfulness_ratio"])
    for low, high in zip(rows, rows[1:]):
        if low["colorfulness_ratio"] <= target <= high["colorfulness_ratio"]:
            t = (target - low["colorfulness_ratio"]) / (high["colorfulness_ratio"] - low["colorfulness_ratio"])
            return low["psnr_gain"] + t * (high["psnr_gain"] - low["psnr_gain"])
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="lsgan", help="registered name or .keras path")
    parser.add_argument("--partner", default="gan", help="the ensemble's second model")
    parser.add_argument("--saturations", type=float, nargs="+", default=[0.7, 0.8, 0.9, 1.0, 1.15, 1.3, 1.45])
    parser.add_argument("--min-colourfulness", type=float, default=0.6)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    shipped = Variant(args.model, saturation=1.0)
    variants = [shipped.named("shipped (bilinear)"), shipped.named("guided", guided=True), shipped.named("flip", flip=True),
                shipped.at_input_size(256).named("256px"),
                shipped.named(f"ensemble +{args.partner}", partner=Colorizer(args.partner, saturation=1.0))]

    photos = selection.validation_photos(args.data, args.seed)
    print(f"{args.model} on the validation split of {args.data} (seed {args.seed}): {len(photos)} photos; "
          "macro PSNR gain over gray (dB) / colourfulness as % of truth", flush=True)
    header = " | ".join(f"@{s:g}" for s in args.saturations)
    print(f"| variant | images/s | gain at {args.min_colourfulness:.0%} colour | {header} |")
    print("|---" * (3 + len(args.saturations)) + "|")
    for variant in variants:
        copies = selection.at_saturations(variant, args.saturations)
        result = evaluate.evaluate_photos("validation", photos, copies)
        table = selection.per_source(result, args.data)
        macro = [table[c.name]["macro"] for c in copies]
        gain = at_colourfulness(macro, args.min_colourfulness)
        speed = np.mean([result.speed[c.name] for c in copies])
        cells = " | ".join(f"{m['psnr_gain']:+.2f} / {m['colorfulness_ratio']:.0%}" for m in macro)
        print(f"| {variant.name} | {speed:.1f} | {'n/a' if gain is None else f'{gain:+.2f} dB'} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
