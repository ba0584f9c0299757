"""The GAN-objective comparison of Table 1 (seed 000), reproduced at a small budget: `make study`.

    .venv/bin/python recipes/study.py [--part scratch|semantic|all] [--data ../shared/data/train]
                                      [--eval-dir ../shared/data/eval] [--limit N] [--report-only]

Two parts, each GAN, LSGAN, EBGAN and WGAN with (L1 = 100, L2 = 0) and (L1 = 0, L2 = 1), one equal budget
and seed per part:

- `scratch` (part one): every configuration trained from scratch (a width-16 U-Net at 128 px) into
  runs/study/NAME, exported to runs/study/models;
- `semantic` (part two): every configuration fine-tuned from one L1-pretrained semantic generator (the
  default's stage (a): the ImageNet MobileNetV2 encoder, frozen, and a U-Net decoder, see colorize_cli/zoo.py
  BASES) into runs/s2/NAME, exported to runs/zoo/models/s2-NAME; plus WGAN-GP + L1 and the GAN aids of
  seed 004 (image pool, label flips, minibatch discrimination), each added alone to LSGAN + 100*L1.

Rerunning resumes interrupted runs and reuses finished ones. Each part is compared:

- metrics on the held-out eval folders (never trained on; with the ImageNet classifier's semantic
  metric when ../shared/pretrained holds it) -> docs/study/PART/metrics.json, cached per model checksum;
- part two also on the training split's validation photos (recipes/validate.py's protocol, macro over
  sources), at equal colourfulness against the from-scratch models each objective replaced in models/
  (runs/scratch/scratch-NAME.keras, taken from git history), and for the aids against LSGAN + 100*L1;
- a Figure-6-style grid (input | models | truth) on scikit-image's redistributable sample photos;
- loss curves from each run's steps.csv;
- docs/study.md: the parts' sections (docs/study/PART.md) and the hand-written readings
  (docs/study_reading.md, docs/study_reading_semantic.md).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import evaluate, registry, selection, train, zoo
from colorize_cli.pipeline import Colorizer
from colorize_cli.zoo import BASE_MODELS, ENCODER, RECONSTRUCTIONS, ROOT, SMALL, config, semantic_finetune

OBJECTIVES = ("gan", "lsgan", "ebgan", "wgan")
DOCS = ROOT / "docs"
SAMPLES = ("astronaut", "coffee", "chelsea", "rocket")  # scikit-image's colour photos (redistributable)


AIDS = {"pool": ("image pool of 50 (experience replay)", {"image_pool": 50}),
        "flip": ("noisy labels: 5 % of targets flipped", {"label_flip": 0.05}),
        "mbd": ("minibatch discrimination (minibatch-stddev channel)", {"minibatch_disc": True})}


def semantic_recipe(objective: str, reconstruction: str, aid: str | None = None) -> dict:
    recipe = semantic_finetune(objective, reconstruction, **(AIDS[aid][1] if aid else {}))
    recipe.pop("run")  # the part's runs folder decides
    return recipe


@dataclass
class Part:
    name: str
    title: str
    recipes: dict  # configuration -> recipe (colorize_cli.zoo.config's fields)
    runs: Path  # runs/.../NAME
    models: Path  # where the configurations are exported
    prefix: str = ""  # export name = prefix + configuration
    plotted: tuple = OBJECTIVES  # loss-curve columns
    extras: dict = field(default_factory=dict)  # configurations outside the 4x2 table (aids): name -> label

    def export_name(self, name: str) -> str:
        return self.prefix + name

    @property
    def figures(self) -> Path:
        return DOCS / "study" / self.name


PARTS = {
    "scratch": Part("scratch", "Part one: from scratch",
                    {f"{obj}-{rec}": dict(model=obj, **SMALL, **weights)
                     for obj in OBJECTIVES for rec, weights in RECONSTRUCTIONS.items()},
                    ROOT / "runs" / "study", ROOT / "runs" / "study" / "models"),
    "semantic": Part("semantic", "Part two: one pretrained semantic generator, fine-tuned by each objective",
                     {**{f"{obj}-{rec}": semantic_recipe(obj, rec) for obj in OBJECTIVES for rec in RECONSTRUCTIONS},
                      "wgan-gp-l1": semantic_recipe("wgan-gp", "l1"),
                      **{f"lsgan-l1-{aid}": semantic_recipe("lsgan", "l1", aid) for aid in AIDS}},
                     ROOT / "runs" / "s2", BASE_MODELS, prefix="s2-", plotted=(*OBJECTIVES, "wgan-gp"),
                     extras={f"lsgan-l1-{aid}": f"LSGAN + 100·L1, {label}" for aid, (label, _) in AIDS.items()}),
}
SCRATCH_MODELS = ROOT / "runs" / "scratch"  # the from-scratch models part two's objectives replaced (git history)


def label(name: str, part: Part) -> str:
    if name in part.extras:
        return part.extras[name]
    obj, _, rec = name.rpartition("-")
    return f"{obj.upper()} + {'100·L1' if rec == 'l1' else 'L2'}"


def train_all(part: Part, data_dir: Path, train_missing: bool = True) -> dict[str, Path]:
    cards = {}
    for name, recipe in part.recipes.items():
        card = part.models / f"{part.export_name(name)}.json"
        if not train_missing:
            if card.exists():
                cards[name] = card
            continue
        print(f"== {part.name}: {name}", flush=True)
        zoo.train_base(recipe, data_dir)  # the pretrained stage (resumed or re-exported if already trained: cheap)
        recipe = {**recipe, "run": str((part.runs / name).relative_to(ROOT))}
        cards[name] = train.train(config(name, recipe, data_dir, part.export_name(name)), models_dir=part.models,
                                  overwrite=True)  # its own folder: re-export freely
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


def read_steps(steps_csv: Path) -> tuple[list[int], dict]:
    with open(steps_csv) as f:
        rows = {int(r["step"]): r for r in csv.DictReader(f)}  # a resumed run may repeat steps: keep the last
    return sorted(rows), rows


def plot_curves(part: Part, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(part.plotted), figsize=(4.2 * len(part.plotted), 6.4), squeeze=False)
    for col, obj in enumerate(part.plotted):
        for rec, style in (("l1", "-"), ("l2", "--")):
            name = f"{obj}-{rec}"
            steps_csv = part.runs / name / "steps.csv"
            if name not in names or not steps_csv.exists():  # not trained (yet)
                continue
            steps, rows = read_steps(steps_csv)
            for key, color in (("d_loss", "tab:red"), ("g_adv", "tab:blue"), ("wasserstein", "tab:purple")):
                if key in rows[steps[0]]:
                    axes[0][col].plot(steps, [float(rows[s][key]) for s in steps], style, color=color, label=f"{key} ({rec})")
            axes[1][col].plot(steps, [float(rows[s]["l1"]) * 110 for s in steps], style, color="tab:green",
                              label=f"train |Δab| ({rec})")
        axes[0][col].set_title(obj.upper())
        for ax in axes[:, col]:
            ax.set_xlabel("generator step")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:  # a column whose runs are not trained yet stays empty
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def checksum(card_path: Path) -> str:
    """The model's identity for the metric caches: its weights' and card's bytes."""
    digest = hashlib.sha256(card_path.read_bytes())
    digest.update(card_path.with_suffix(".keras").read_bytes())
    return digest.hexdigest()[:16]


class Cache:
    """JSON file of measurements per model, reused while the model's checksum is unchanged."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str, model_checksum: str):
        entry = self.data.get(key)
        return entry["value"] if entry and entry.get("checksum") == model_checksum else None

    def put(self, key: str, model_checksum: str, value) -> None:
        self.data[key] = {"checksum": model_checksum, "value": value}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        train.write_atomic(self.path, (json.dumps(self.data, indent=1) + "\n").encode())


def held_out(part: Part, cards: dict[str, Path], folders: list[Path], limit, classifier) -> dict[str, dict]:
    """folder -> {gray baseline and each configuration: metric means}, measuring only models not cached."""
    cache = Cache(part.figures / "metrics.json")
    results = {}
    for folder in folders:
        means = {}
        todo = [name for name in cards if cache.get(f"{folder.name}/{name}", checksum(cards[name])) is None]
        gray = cache.get(f"{folder.name}/{evaluate.GRAY}", f"limit={limit}")
        if todo or gray is None:
            print(f"== eval {folder.name}: {', '.join(todo) or 'gray baseline'}", flush=True)
            colorizers = [Colorizer(str(cards[name].with_suffix(".keras"))) for name in todo]
            measured = evaluate.evaluate_dataset(folder, colorizers, limit=limit, classifier=classifier).means()
            cache.put(f"{folder.name}/{evaluate.GRAY}", f"limit={limit}", measured[evaluate.GRAY])
            for name, colorizer in zip(todo, colorizers):
                cache.put(f"{folder.name}/{name}", checksum(cards[name]), measured[colorizer.name])
        means[evaluate.GRAY] = cache.get(f"{folder.name}/{evaluate.GRAY}", f"limit={limit}")
        means.update({name: cache.get(f"{folder.name}/{name}", checksum(cards[name])) for name in cards})
        results[folder.name] = means
    return results


def table(means: dict, names: list[str], minutes: dict, part: Part) -> str:
    gray = means[evaluate.GRAY]
    semantic = "top5" in gray
    head = "| configuration | PSNR dB | vs gray | SSIM | ΔE2000 | AuC | colourfulness | of truth |"
    rule = "|---|---|---|---|---|---|---|---|"
    if semantic:
        head, rule = head + " top-5 | KL |", rule + "---|---|"
    lines = [head + " train min |", rule + "---|"]

    def row(label_, m, minutes_):
        cells = [f"{m['psnr']:.2f}", f"{m['psnr'] - gray['psnr']:+.2f}" if m is not gray else "—", f"{m['ssim']:.4f}",
                 f"{m['delta_e']:.2f}", f"{m['auc']:.4f}", f"{m['colorfulness']:.1f}", f"{m['colorfulness_ratio']:.0%}"]
        if semantic:
            cells += [f"{m['top5']:.1%}", f"{m['kl']:.2f}"]
        return f"| {label_} | " + " | ".join(cells) + f" | {minutes_} |"

    lines.append(row("gray baseline", gray, "—"))
    lines += [row(label(name, part), means[name], f"{minutes[name]:.1f}") for name in names]
    return "\n".join(lines)


# -- part two on the validation split: equal colourfulness ----------------------------------------------
SATURATIONS = (0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.4, 2.8)


def validation_curve(model_path: Path, photos, data_dir: Path, cache: Cache, extra=()) -> dict[str, list]:
    """Macro PSNR gain and colourfulness over saturations (plus `extra` ones, e.g. the card's own)."""
    key, check = f"validation/{model_path.stem}", checksum(model_path.with_suffix(".json"))
    saturations = sorted({*SATURATIONS, *extra})
    cached = cache.get(key, check)
    if cached is not None and set(saturations) <= set(cached["saturation"]):
        return cached
    print(f"== validation: {model_path.stem}", flush=True)
    colorizer = Colorizer(str(model_path), saturation=1.0)
    copies = selection.at_saturations(colorizer, saturations)
    table_ = selection.per_source(evaluate.evaluate_photos("validation", photos, copies, full=False), data_dir)
    curve = {"saturation": saturations,
             "psnr_gain": [table_[c.name]["macro"]["psnr_gain"] for c in copies],
             "colourfulness": [table_[c.name]["macro"]["colorfulness_ratio"] for c in copies]}
    cache.put(key, check, curve)
    return curve


def at_colourfulness(curve: dict, target: float) -> float | None:
    """PSNR gain interpolated at a macro colourfulness (None outside the measured range)."""
    order = np.argsort(curve["colourfulness"])
    c, p = np.asarray(curve["colourfulness"])[order], np.asarray(curve["psnr_gain"])[order]
    return float(np.interp(target, c, p)) if c[0] <= target <= c[-1] else None


def at_saturation(curve: dict, saturation: float) -> tuple[float, float]:
    i = curve["saturation"].index(saturation)
    return curve["psnr_gain"][i], curve["colourfulness"][i]


def validation_section(part: Part, cards: dict[str, Path], data_dir: Path) -> list[str]:
    cache = Cache(part.figures / "validation.json")
    photos = selection.validation_photos(data_dir)
    curves = {name: validation_curve(card.with_suffix(".keras"), photos, data_dir, cache) for name, card in cards.items()}
    lines = ["### Against the from-scratch models, at equal colourfulness (validation)", "",
             f"The training split's {len(photos)} validation photos (`recipes/validate.py`'s protocol: PSNR gain over gray and "
             "colourfulness as a share of the truth's, averaged per source, then over sources). Each from-scratch model "
             "(the one bundled before this study, `runs/scratch/`) is measured at its calibrated saturation; the fine-tuned "
             "model's PSNR gain is interpolated at that same colourfulness along its saturation sweep "
             f"({', '.join(f'{s:g}' for s in SATURATIONS)}).", "",
             "| objective | from scratch: saturation | colourfulness | PSNR gain | fine-tuned (L1 = 100) at equal colourfulness | difference |",
             "|---|---|---|---|---|---|"]
    wins = 0
    for obj in (*OBJECTIVES, "wgan-gp"):
        name, scratch = f"{obj}-l1", SCRATCH_MODELS / f"scratch-{obj}.json"
        if name not in curves or not scratch.exists():
            continue
        saturation = registry.ModelCard.from_file(scratch).saturation
        theirs = validation_curve(scratch.with_suffix(".keras"), photos, data_dir, cache, extra=(saturation,))
        gain, colour = at_saturation(theirs, saturation)
        ours = at_colourfulness(curves[name], colour)
        wins += ours is not None and ours > gain
        lines.append(f"| {obj.upper()} | {saturation:g} | {colour:.0%} | {gain:+.2f} dB | "
                     + (f"{ours:+.2f} dB | {ours - gain:+.2f} dB |" if ours is not None else "out of the sweep's range | — |"))
    lines += ["", f"The fine-tuned model is ahead for {wins} of the objectives above.", ""]

    base = curves.get("lsgan-l1")
    if base and any(name in curves for name in part.extras):
        lines += ["### The GAN aids of seed 004 (validation)", "",
                  "Each aid added alone to LSGAN + 100·L1, same budget and seed. Columns: macro PSNR gain and colourfulness at "
                  "saturation 1, and the PSNR gain interpolated at the colourfulness of the run without aids at saturation 1.", "",
                  "| run | PSNR gain @1 | colourfulness @1 | PSNR gain at the baseline's colourfulness | vs without |", "|---|---|---|---|---|"]
        ref_gain, ref_colour = at_saturation(base, 1.0)
        lines.append(f"| LSGAN + 100·L1 (without aids) | {ref_gain:+.2f} dB | {ref_colour:.0%} | {ref_gain:+.2f} dB | — |")
        for name in part.extras:
            if name in curves:
                gain, colour = at_saturation(curves[name], 1.0)
                equal = at_colourfulness(curves[name], ref_colour)
                lines.append(f"| {part.extras[name]} | {gain:+.2f} dB | {colour:.0%} | "
                             + (f"{equal:+.2f} dB | {equal - ref_gain:+.2f} dB |" if equal is not None else "— | — |"))
        lines.append("")
    (part.figures / "validation_curves.json").write_text(json.dumps(curves, indent=1) + "\n")
    return lines


def report(part: Part, args) -> None:
    cards = train_all(part, args.data, train_missing=not args.report_only)
    if not cards:
        print(f"{part.name}: no trained configuration to report")
        return
    names = [n for n in cards if n not in part.extras]
    missing = [name for name in part.recipes if name not in cards]
    minutes = {n: json.loads(p.read_text())["training"]["wall_time_s"] / 60 for n, p in cards.items()}
    part.figures.mkdir(parents=True, exist_ok=True)
    grid_models = [Colorizer(str(cards[n].with_suffix(".keras"))) for n in names]
    cv2.imwrite(str(part.figures / "grid.jpg"), sample_grid(grid_models), [cv2.IMWRITE_JPEG_QUALITY, 88])
    plot_curves(part, names, part.figures / "losses.png")
    classifier = None
    if ENCODER.exists():  # the semantic metric: the same ImageNet MobileNetV2 (read-only, never bundled)
        from colorize_cli.recognition import Classifier

        classifier = Classifier(ENCODER)
    folders = [d for d in (args.eval_dir / "kodak24", args.eval_dir / "bsds500_test") if d.is_dir()]
    results = held_out(part, cards, folders, args.limit, classifier)

    recipe = next(iter(part.recipes.values()))
    budget = (f"{recipe['steps']} generator steps of batch {recipe['batch_size']} at {recipe['image_size']}×{recipe['image_size']}, "
              f"width {recipe['width']}, discriminator width {recipe['d_width']}, seed {recipe['seed']}")
    lines = [f"## {part.title}", "", f"Budget: {budget}" + (
        "; from the L1-pretrained semantic generator `semantic-l1` (6000 steps of L1 regression on the frozen encoder), "
        "each objective at half its recipe's learning rate, EBGAN with the pull-away term (0.1), the Wasserstein critics "
        "width 16 and WGAN without Arjovsky's 100-update warm-up (width 32 with the warm-up would take hours per run here)." if part.name == "semantic" else "."), ""]
    if missing:
        lines += [f"**Not trained yet:** {', '.join(missing)} (the CPU budget of the session that wrote this page ran out; "
                  f"`make study` resumes them and rewrites this page).", ""]
    lines += ["### Held-out metrics", "",
              "Protocol of `colorize eval` (full resolution, 8-bit sRGB; the eval photos are never trained on). "
              + ("top-5 / KL: does the ImageNet classifier still find the truth's class (`colorize eval --classifier`). "
                 if classifier else "") + "`train min`: wall time on this project's 2-core CPU (shared with other runs).", ""]
    for folder, means in results.items():
        rows = names + [n for n in part.extras if n in cards]
        lines += [f"#### {folder} ({means[evaluate.GRAY]['images']} photos)", "", table(means, rows, minutes, part), ""]
    if part.name == "semantic":
        lines += validation_section(part, cards, args.data)
    figures = part.figures.relative_to(DOCS)
    lines += [f"### The same photos through all {len(names)}", "",
              f"Input (gray) | {', '.join(names)} | truth, on scikit-image's sample photos.", "",
              f"![{part.name} grid]({figures}/grid.jpg)", "",
              "### Loss curves", "",
              f"Means over 50-step windows (`{part.runs.relative_to(ROOT)}/NAME/steps.csv`); solid: 100·L1, dashed: L2. "
              "The bottom row is the training ab error in LAB units.", "",
              f"![{part.name} loss curves]({figures}/losses.png)", ""]
    (DOCS / "study" / f"{part.name}.md").write_text("\n".join(lines))
    (part.figures / "recipes.json").write_text(json.dumps(part.recipes, indent=1, default=str) + "\n")


def assemble() -> Path:
    doc = ["# The GAN-objective study, reproduced", "",
           "Table 1 of *Fabbri, Colorization with GANs* (seed 000): four adversarial objectives, each with an L1 or an L2 "
           "reconstruction term, trained by `colorize train` on `../shared/data/train` at one equal budget per part — first "
           "from scratch, then fine-tuned from one generator that already knows what a sky is (an ImageNet-pretrained "
           "encoder). Regenerate with `make study` (runs resume; finished runs and their measurements are reused).", ""]
    for name, reading in (("scratch", "study_reading.md"), ("semantic", "study_reading_semantic.md")):
        section = DOCS / "study" / f"{name}.md"
        if section.exists():
            doc += [section.read_text().strip(), ""]
        if (DOCS / reading).exists():
            doc += [(DOCS / reading).read_text().strip(), ""]
    path = DOCS / "study.md"
    path.write_text("\n".join(doc))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "data" / "eval")
    parser.add_argument("--limit", type=int, default=None, help="eval photos per folder (default: all)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: report the configurations already trained (the rest are listed as missing)")
    args = parser.parse_args(argv)
    for name in PARTS if args.part == "all" else [args.part]:
        report(PARTS[name], args)
    print(f"wrote {assemble()}")


if __name__ == "__main__":
    main()
