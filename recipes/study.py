"""The GAN-objective comparison of Table 1 (seed 000), reproduced at a small budget: `make study`.

    .venv/bin/python recipes/study.py [--data ../shared/data/train] [--eval-dir ../shared/data/eval] [--limit N]

Eight configurations — GAN, LSGAN, EBGAN and WGAN, each with (L1 = 100, L2 = 0) and (L1 = 0, L2 = 1) —
train on the same budget and seed into runs/study/NAME (rerunning resumes or reuses finished runs), are
exported to runs/study/models, and are compared:

- metrics on the held-out eval folders (never trained on) -> docs/study/metrics.json and the tables;
- a Figure-6-style grid (input | 8 models | truth) on scikit-image's redistributable sample photos;
- loss curves from each run's steps.csv;
- docs/study.md, which also includes the hand-written reading in docs/study_reading.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import evaluate, train
from colorize_cli.pipeline import Colorizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoo import ROOT, SMALL  # noqa: E402  (recipe scripts are not a package)

OBJECTIVES = ("gan", "lsgan", "ebgan", "wgan")
RECONSTRUCTIONS = {"l1": dict(l1=100.0, l2=0.0), "l2": dict(l1=0.0, l2=1.0)}
STUDY = {f"{obj}-{rec}": dict(model=obj, **SMALL, **weights)
         for obj in OBJECTIVES for rec, weights in RECONSTRUCTIONS.items()}
DOCS = ROOT / "docs"
FIGURES = DOCS / "study"
SAMPLES = ("astronaut", "coffee", "chelsea", "rocket")  # scikit-image's colour photos (redistributable)


def train_all(data_dir: Path, models_dir: Path, train_missing: bool = True) -> dict[str, Path]:
    cards = {}
    for name, recipe in STUDY.items():
        if not train_missing:
            if (models_dir / f"{name}.json").exists():
                cards[name] = models_dir / f"{name}.json"
            continue
        print(f"== {name}", flush=True)
        cfg = train.TrainConfig(data_dir=str(data_dir), run_dir=str(ROOT / "runs" / "study" / name), export_name=name,
                                **recipe)
        cards[name] = train.train(cfg, models_dir=models_dir, overwrite=True)  # its own folder: re-export freely
    return cards


def sample_photos() -> list[evaluate.Photo]:
    import skimage.data

    return [evaluate.Photo(Path(name), cv2.cvtColor(getattr(skimage.data, name)()[..., :3], cv2.COLOR_RGB2BGR), True)
            for name in SAMPLES]


def sample_grid(colorizers: list) -> np.ndarray:
    result = evaluate.DatasetResult("samples", True, photos=sample_photos())
    result.outputs[evaluate.GRAY] = [evaluate.gray_baseline(p.image) for p in result.photos]
    for colorizer in colorizers:
        result.outputs[colorizer.name], _ = evaluate.colorize_all(colorizer, result.photos)
    return evaluate.comparison_grid(result, 0, len(result.photos), cell=(150, 112))


def plot_curves(names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(OBJECTIVES), figsize=(4.2 * len(OBJECTIVES), 6.4), squeeze=False)
    for col, obj in enumerate(OBJECTIVES):
        for rec, style in (("l1", "-"), ("l2", "--")):
            name = f"{obj}-{rec}"
            steps_csv = ROOT / "runs" / "study" / name / "steps.csv"
            if name not in names or not steps_csv.exists():  # not trained (yet)
                continue
            with open(steps_csv) as f:
                rows = {int(r["step"]): r for r in csv.DictReader(f)}  # a resumed run may repeat steps: keep the last
            steps = sorted(rows)
            for key, color in (("d_loss", "tab:red"), ("g_adv", "tab:blue"), ("wasserstein", "tab:purple")):
                if key in rows[steps[0]]:
                    axes[0][col].plot(steps, [float(rows[s][key]) for s in steps], style, color=color, label=f"{key} ({rec})")
            axes[1][col].plot(steps, [float(rows[s]["l1"]) * 110 for s in steps], style, color="tab:green",
                              label=f"train |Δab| ({rec})")
        axes[0][col].set_title(obj.upper())
        for ax in axes[:, col]:
            ax.set_xlabel("generator step")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def table(means: dict, names: list[str], minutes: dict) -> str:
    gray = means[evaluate.GRAY]
    lines = ["| configuration | PSNR dB | vs gray | SSIM | ΔE2000 | AuC | colourfulness | of truth | train min |",
             "|---|---|---|---|---|---|---|---|---|",
             f"| gray baseline | {gray['psnr']:.2f} | — | {gray['ssim']:.4f} | {gray['delta_e']:.2f} | {gray['auc']:.4f} | "
             f"{gray['colorfulness']:.1f} | {gray['colorfulness_ratio']:.0%} | — |"]
    for name in names:
        m = means[name]
        obj, rec = name.split("-")
        label = f"{obj.upper()} + {'100·L1' if rec == 'l1' else 'L2'}"
        lines.append(f"| {label} | {m['psnr']:.2f} | {m['psnr'] - gray['psnr']:+.2f} | {m['ssim']:.4f} | {m['delta_e']:.2f} | "
                     f"{m['auc']:.4f} | {m['colorfulness']:.1f} | {m['colorfulness_ratio']:.0%} | {minutes[name]:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "data" / "eval")
    parser.add_argument("--limit", type=int, default=None, help="eval photos per folder (default: all)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: report the configurations already trained (the rest are listed as missing)")
    args = parser.parse_args(argv)
    models_dir = ROOT / "runs" / "study" / "models"
    cards = train_all(args.data, models_dir, train_missing=not args.report_only)
    names = list(cards)
    missing = [name for name in STUDY if name not in cards]
    minutes = {n: json.loads(p.read_text())["training"]["wall_time_s"] / 60 for n, p in cards.items()}
    colorizers = [Colorizer(str(p.with_suffix(".keras"))) for p in cards.values()]

    FIGURES.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(FIGURES / "grid.jpg"), sample_grid(colorizers), [cv2.IMWRITE_JPEG_QUALITY, 88])
    plot_curves(names, FIGURES / "losses.png")

    sections, results = [], {}
    for folder in (args.eval_dir / "kodak24", args.eval_dir / "bsds500_test"):
        if not folder.is_dir():
            continue
        print(f"== eval {folder.name}", flush=True)
        means = evaluate.evaluate_dataset(folder, colorizers, limit=args.limit).means()
        results[folder.name] = means
        sections += [f"### {folder.name} ({means[evaluate.GRAY]['images']} photos)", "", table(means, names, minutes), ""]
    (FIGURES / "metrics.json").write_text(json.dumps({"recipe": STUDY, "means": results}, indent=2) + "\n")

    reading = DOCS / "study_reading.md"
    budget = (f"{SMALL['steps']} generator steps of batch {SMALL['batch_size']} at {SMALL['image_size']}×{SMALL['image_size']}, "
              f"U-Net width {SMALL['width']}, discriminator width {SMALL['d_width']}, seed {SMALL['seed']}")
    doc = ["# The GAN-objective study, reproduced", "",
           "Table 1 of *Fabbri, Colorization with GANs* (seed 000): four adversarial objectives, each with an L1 or an L2 "
           f"reconstruction term, trained by `colorize train` on `../shared/data/train` with one equal budget: {budget}. "
           "Regenerate everything here with `make study` (runs resume; finished runs are reused).", "",
           *([f"**Not trained yet:** {', '.join(missing)} (the CPU budget of the session that wrote this page ran out; "
               "`make study` resumes them and rewrites this page).", ""] if missing else []),
           "## Held-out metrics", "",
           "Protocol of `colorize eval` (full resolution, 8-bit sRGB; the eval photos are never trained on). "
           "`train min`: wall time on this project's 2-core CPU.", "", *sections,
           "## The same photos through all eight", "",
           f"Input (gray) | {', '.join(names)} | truth, on scikit-image's sample photos.", "",
           "![study grid](study/grid.jpg)", "",
           "## Loss curves", "",
           "Means over 50-step windows (`runs/study/NAME/steps.csv`); solid: 100·L1, dashed: L2. "
           "The bottom row is the training ab error in LAB units.", "",
           "![loss curves](study/losses.png)", ""]
    if reading.exists():
        doc += [reading.read_text().strip(), ""]
    (DOCS / "study.md").write_text("\n".join(doc))
    print(f"wrote {DOCS / 'study.md'}")


if __name__ == "__main__":
    main()
