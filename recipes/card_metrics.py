"""Measure a model on held-out colour photo folders and record the means on its card.

    .venv/bin/python recipes/card_metrics.py lsgan ../shared/data/eval/kodak24 ../shared/data/eval/bsds500_test --write

Protocol: colorize_cli.evaluate (8-bit sRGB, full resolution, gray baseline alongside).
"""

import argparse
from pathlib import Path

from colorize_cli import evaluate, train
from colorize_cli.pipeline import Colorizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="store the results in the model's card")
    args = parser.parse_args()
    colorizer = Colorizer(args.model)
    card = colorizer.card
    for folder in args.folders:
        means = evaluate.evaluate_dataset(folder, [colorizer]).means()
        gray, ours = means[evaluate.GRAY], means[colorizer.name]
        entry = {**{k: round(v, 4) for k, v in ours.items()}, "gray_psnr": round(gray["psnr"], 4)}
        card.metrics[folder.name] = entry
        print(f"{folder.name}: PSNR {ours['psnr']:.2f} dB (gray {gray['psnr']:.2f}, {ours['psnr'] - gray['psnr']:+.2f}), "
              f"SSIM {ours['ssim']:.4f}, ΔE {ours['delta_e']:.2f}, AuC {ours['auc']:.4f}, colourfulness {ours['colorfulness']:.1f} "
              f"vs truth {ours['truth_colorfulness']:.1f} ({ours['colorfulness_ratio']:.0%}), {ours['images']} images")
    if args.write:
        train.write_atomic(card.path, card.to_json().encode())
        print(f"wrote {card.path}")


if __name__ == "__main__":
    main()
