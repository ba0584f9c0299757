"""Choosing among models: the training folder's held-out validation split, scored per source folder, and the
selection rule (the highest macro PSNR gain among models colourful enough). recipes/validate.py prints it,
recipes/zoo.py and recipes/study.py choose by it.

The split is the trainer's own (`data.split_validation` of the usable photos, same seed), so none of these
photos was trained on by a model trained on that folder with that seed. Metrics follow the `colorize eval`
protocol, per photo, then averaged *per source folder* and over sources with equal weight (macro average): a
plain mean over the split would be ruled by its largest source (a quarter of the photos are cropped faces, where
every model gains 4-7 dB), which says little about scenes, objects and animals. The eval sets are never used to
choose. Training-side (it reads the training folder through `data`): `evaluate` stays free of it.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from colorize_cli import data, evaluate

if TYPE_CHECKING:
    from colorize_cli.pipeline import Colorizer


def validation_photos(data_dir: Path, seed: int = 0) -> list[evaluate.Photo]:
    usable = data.scan_images(data.list_images(data_dir)).usable
    _, val = data.split_validation(usable, seed=seed)
    return [p for p in evaluate.read_photos(val) if p.has_truth]


def per_source(result: evaluate.DatasetResult, data_dir: Path) -> dict[str, dict[str, dict]]:
    """model -> source -> {n, psnr_gain, colorfulness_ratio}; plus source 'macro' (equal weight per source)."""
    sources = [data.source_of(p.path, data_dir) or "." for p in result.photos]
    rows = collections.defaultdict(list)
    for row in result.rows:
        rows[row["model"]].append(row)
    gray = rows.pop(evaluate.GRAY)
    table = {}
    for model, model_rows in rows.items():
        groups = collections.defaultdict(list)
        for source, row, base in zip(sources, model_rows, gray):
            groups[source].append((row["psnr"] - base["psnr"], row["colorfulness"], row["truth_colorfulness"]))
        table[model] = {s: {"n": len(g), "psnr_gain": float(np.mean([r[0] for r in g])),
                            "colorfulness_ratio": float(np.mean([r[1] for r in g]) / np.mean([r[2] for r in g]))}
                        for s, g in sorted(groups.items())}
        table[model]["macro"] = {"n": len(model_rows),
                                 **{k: float(np.mean([v[k] for v in table[model].values()])) for k in ("psnr_gain", "colorfulness_ratio")}}
    return table


def select(table: dict, min_colourfulness: float) -> str | None:
    """The selection rule: the highest macro PSNR gain among rows with macro colourfulness >= the bar."""
    eligible = {m: r["macro"] for m, r in table.items() if r["macro"]["colorfulness_ratio"] >= min_colourfulness}
    return max(eligible, key=lambda m: eligible[m]["psnr_gain"]) if eligible else None


def at_saturations(colorizer: Colorizer, saturations) -> list[Colorizer]:
    """The same loaded network at several saturations (shallow copies: one model in memory). Saturation
    only scales the network's ab, so the copies share one memo of its outputs: the network runs once
    per input batch, not once per saturation."""
    run_once = getattr(colorizer, "run_once", None)
    if run_once is None:  # kept on the colorizer: calibrate's coarse and fine passes share it
        run, memo = colorizer._run, {}

        def run_once(l_batch):
            key = hashlib.blake2b(l_batch.tobytes(), digest_size=16).digest() + repr(l_batch.shape).encode()
            if key not in memo:
                memo[key] = run(l_batch)
            return memo[key]

        colorizer.run_once = run_once
    copies = []
    for saturation in saturations:
        twin = copy.copy(colorizer)
        twin._run = run_once
        twin.saturation = float(saturation)
        twin.card = dataclasses.replace(colorizer.card, name=f"{colorizer.card.name} @{saturation:g}")
        copies.append(twin)
    return copies


COARSE = [0.5 + 0.25 * i for i in range(15)]  # 0.5 .. 4.0, the range `colorize --saturation` accepts above 0.5


def calibrate(model: str, photos, data_dir: Path, min_colourfulness: float):
    """Choose `model`'s saturation on the validation photos -> (its card, saturation, macro row, all rows)."""
    from colorize_cli.pipeline import Colorizer

    colorizer = Colorizer(model, saturation=1.0)
    saturation_of: dict[str, float] = {}  # table row name -> saturation

    def score(saturations):
        copies = at_saturations(colorizer, saturations)
        saturation_of.update((c.name, c.saturation) for c in copies)
        return per_source(evaluate.evaluate_photos("validation", photos, copies, full=False), data_dir)

    table = score(COARSE)
    coarse = select(table, min_colourfulness)
    if coarse is None:  # nothing up to 4 is colourful enough: the most colourful the CLI allows
        coarse = max(table, key=lambda m: table[m]["macro"]["colorfulness_ratio"])
    centre = saturation_of[coarse]
    table.update(score([s for s in (round(centre + 0.05 * k, 2) for k in range(-4, 5)) if 0 < s <= 4 and s not in COARSE]))
    table = dict(sorted(table.items(), key=lambda item: saturation_of[item[0]]))
    best = select(table, min_colourfulness) or coarse
    return colorizer.card, saturation_of[best], table[best]["macro"], table


def at_equal_colourfulness(table: dict, targets) -> dict[str, list[float | None]]:
    """Each model's macro PSNR gain interpolated at each target macro colourfulness, from its rows at several
    saturations (`MODEL @S` names); None where its saturations do not reach a target. This is how candidates are
    compared: saturation alone trades PSNR for colour, so a gain means something only at equal colour."""
    curves = collections.defaultdict(list)
    for name, row in table.items():
        curves[name.split(" @")[0]].append((row["macro"]["colorfulness_ratio"], row["macro"]["psnr_gain"]))
    result = {}
    for model, points in curves.items():
        colour, gain = (np.array(v) for v in zip(*sorted(points)))
        result[model] = [float(np.interp(t, colour, gain)) if colour[0] <= t <= colour[-1] else None for t in targets]
    return result
