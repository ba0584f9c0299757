"""Compare models on the training folder's held-out validation split: how candidates are chosen.

    .venv/bin/python recipes/validate.py MODEL [MODEL ...] [--saturations 1 1.15 ...] [--min-colourfulness 0.6]
    .venv/bin/python recipes/validate.py MODEL [MODEL ...] --calibrate [--write]

`--calibrate` chooses each model's saturation by the selection rule below: a coarse pass over 0.5-4
in steps of 0.25, then steps of 0.05 around the best; `--write` stores it on the model's card.

The split is the trainer's own (`data.split_validation` of the usable photos, same seed), so none of
these photos was trained on by a model trained on that folder with that seed. Metrics follow the
`colorize eval` protocol at full resolution, per photo, then averaged *per source folder* and over
sources with equal weight (macro average): a plain mean over the split would be ruled by its largest
source (a quarter of the photos are cropped faces, where every model gains 4-7 dB), which says little
about scenes, objects and animals. The eval sets (kodak24, bsds500_test) are never used to choose.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli import evaluate  # noqa: E402
from colorize_cli.pipeline import Colorizer  # noqa: E402
from colorize_cli.selection import (at_equal_colourfulness, at_saturations, calibrate, per_source, select,  # noqa: E402
                                    validation_photos)


def write_saturation(card, saturation: float, macro: dict, min_colourfulness: float, n_photos: int):
    """Store the chosen saturation and how it was chosen on the model's card (the .json beside its weights)."""
    from colorize_cli import train

    if card.path is None or not card.path.is_file():
        raise SystemExit(f"{card.weights}: no card (.json) beside it to store the saturation on")
    card.saturation = saturation
    card.training["saturation_selection"] = (
        f"recipes/validate.py --calibrate on the training split's {n_photos} validation photos: the highest macro PSNR "
        f"gain ({macro['psnr_gain']:+.2f} dB) among saturations with >= {min_colourfulness:.0%} macro colourfulness "
        f"({macro['colorfulness_ratio']:.0%})")
    train.write_atomic(card.path, card.to_json().encode())


def print_table(table: dict, photos, args):
    first = next(iter(table.values()))
    sources = list(first)
    print(f"validation split of {args.data} (seed {args.seed}): {len(photos)} photos; "
          "PSNR gain over gray (dB) / colourfulness as % of truth")
    print("| model | " + " | ".join(f"{s} ({first[s]['n']})" for s in sources) + " |")
    print("|---" * (len(sources) + 1) + "|")
    for model, row in table.items():
        print(f"| {model} | " + " | ".join(f"{row[s]['psnr_gain']:+.2f} / {row[s]['colorfulness_ratio']:.0%}" for s in sources) + " |")


def plot_curves(table: dict, path: Path) -> None:
    """Validation PSNR gain against colourfulness, one line per model over its saturations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = collections.defaultdict(list)
    for name, row in table.items():
        model, _, saturation = name.partition(" @")
        curves[model].append((row["macro"]["colorfulness_ratio"] * 100, row["macro"]["psnr_gain"], saturation))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for model, points in curves.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=model)
        for x, y, saturation in points:
            ax.annotate(saturation, (x, y), fontsize=6, textcoords="offset points", xytext=(2, 3))
    ax.set_xlabel("macro colourfulness, % of the truth's (validation)")
    ax.set_ylabel("macro PSNR gain over gray (dB)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="registered names or .keras paths")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--seed", type=int, default=0, help="the training runs' seed (it fixes the split)")
    parser.add_argument("--saturations", type=float, nargs="+", default=None,
                        help="try each model at each of these saturations (default: each card's own)")
    parser.add_argument("--min-colourfulness", type=float, default=0.6,
                        help="selection rule: the highest macro PSNR gain among rows with at least this macro colourfulness ratio")
    parser.add_argument("--calibrate", action="store_true", help="choose each model's saturation by the selection rule")
    parser.add_argument("--write", action="store_true", help="with --calibrate: store the chosen saturation on the card")
    parser.add_argument("--at-colourfulness", type=float, nargs="+", default=[0.65, 0.75],
                        help="also print each model's gain interpolated at these macro colourfulness ratios (with --saturations)")
    parser.add_argument("--plot", type=Path, help="write the gain-vs-colourfulness curves of the models to this PNG")
    args = parser.parse_args(argv)
    photos = validation_photos(args.data, args.seed)
    if args.calibrate:
        for model in args.models:
            card, saturation, macro, table = calibrate(model, photos, args.data, args.min_colourfulness)
            print_table(table, photos, args)
            print(f"{model}: saturation {saturation:g} (macro {macro['psnr_gain']:+.2f} dB, "
                  f"{macro['colorfulness_ratio']:.0%} colourfulness)", flush=True)
            if args.write:
                write_saturation(card, saturation, macro, args.min_colourfulness, len(photos))
        return
    colorizers = []
    for model in args.models:  # each network loaded once, then tried at each saturation
        colorizer = Colorizer(model)
        colorizers += at_saturations(colorizer, args.saturations or [colorizer.saturation])
    table = per_source(evaluate.evaluate_photos("validation", photos, colorizers, full=False), args.data)
    print_table(table, photos, args)
    targets = args.at_colourfulness
    print("\n| model | " + " | ".join(f"gain at {t:.0%}" for t in targets) + " |\n|---" * 1 + "|---" * len(targets) + "|")
    for model, gains in at_equal_colourfulness(table, targets).items():
        print(f"| {model} | " + " | ".join("out of range" if g is None else f"{g:+.2f} dB" for g in gains) + " |")
    if args.plot:
        plot_curves(table, args.plot)
        print(f"curves: {args.plot}")
    best = select(table, args.min_colourfulness)
    if best:
        print(f"selected (highest macro PSNR gain with macro colourfulness >= {args.min_colourfulness:.0%}): {best}")
    else:
        print(f"no candidate reaches {args.min_colourfulness:.0%} macro colourfulness")


if __name__ == "__main__":
    main()
