"""Measure a model on held-out colour photo folders and record the numbers on its card.

    .venv/bin/python bench/card_metrics.py lsgan ../shared/data/eval/kodak24 ../shared/data/eval/bsds500_test --write

Protocol: colorize_cli.evaluate (8-bit sRGB, full resolution, gray baseline alongside).
"""

import argparse
import json
from pathlib import Path

from colorize_cli import evaluate, registry, train
from colorize_cli.pipeline import Colorizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="store the results in the model's card")
    args = parser.parse_args()
    colorizer = Colorizer(args.model)
    results = {folder.name: evaluate.evaluate_folder(colorizer, folder) for folder in args.folders}
    for name, r in results.items():
        print(f"{name}: PSNR {r['psnr']:.2f} dB (gray baseline {r['gray_psnr']:.2f}, {r['psnr'] - r['gray_psnr']:+.2f}), "
              f"colourfulness {r['colorfulness']:.1f} vs truth {r['truth_colorfulness']:.1f} ({r['colorfulness_ratio']:.0%}), {r['images']} images")
    if args.write:
        card = colorizer.card
        card.metrics.update({k: {m: round(v, 4) for m, v in r.items()} for k, r in results.items()})
        train.write_atomic(card.path, card.to_json().encode())
        print(f"wrote {card.path}")


if __name__ == "__main__":
    main()
