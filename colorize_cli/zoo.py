"""The training runs behind the bundled models (`make zoo`, recipes/zoo.py) and the GAN study (recipes/study.py):
the definitions both run, here so that neither script imports the other. A recipe is a dict of TrainConfig fields
plus the zoo's own keys (run: its runs/ folder; base: the stage it starts from, trained first; init: a committed
model it starts from), chained and run by colorize_cli/stages.py as `colorize train` chains its own (the default
recipe's first stage is BASES["semantic-l1"], the same definition). Paths are the source checkout's (runs/, models/, ../shared): these are a checkout's runs,
not the installed tool's. `train` (TensorFlow) is imported only when a config is made.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from colorize_cli import files, registry, stages

ROOT = Path(__file__).resolve().parent.parent  # the source checkout this package runs from

# The small, equal budget of the study and of every bundled model but the default: ~0.9 epoch at 128 px.
SMALL = dict(steps=500, batch_size=16, image_size=128, width=16, d_width=16, seed=0, checkpoint_every=100)

# The ImageNet-pretrained MobileNetV2 the default's encoder comes from (read at training time, never bundled)
ENCODER = ROOT.parent / "shared" / "pretrained" / "mobilenet_v2_1.0_224_quant.tflite"
SEMANTIC = dict(**stages.SEMANTIC, encoder=str(ENCODER))

# Stages that are not bundled themselves: trained and exported to runs/zoo/models for a model to start from.
BASES = {
    # NoGAN stage (a), the first stage of `colorize train`'s default recipe too (colorize_cli/stages.py): the decoder
    # learns L1 regression of ab on the frozen pretrained encoder
    "semantic-l1": dict(**stages.BASES["semantic-l1"], encoder=str(ENCODER), run="runs/semantic-l1"),
    # colorful's first stage: the small budget (twice the steps: it has no critic to train)
    "colorful-base": dict(model="colorful", **{**SMALL, "steps": 1000}, run="runs/zoo/colorful"),
    # colorful's second stage: 1500 steps at half the learning rate, every source drawn equally often
    "colorful-bal": dict(model="colorful", **{**SMALL, "steps": 1500}, lr=5e-4, balance=True, base="colorful-base",
                         run="runs/zoo/colorful-bal"),
    # wgan's first stage: the study's WGAN + L1 run
    "wgan-base": dict(model="wgan", **SMALL, run="runs/study/wgan-l1"),
}
BASE_MODELS = ROOT / "runs" / "zoo" / "models"


# The adversarial fine-tune of semantic-l1 every GAN objective gets (the study's part two, recipes/study.py):
# the default's LSGAN phase on a 500-step budget, each objective at half its recipe's learning rate.
SEMANTIC_FINETUNE = dict(**SEMANTIC, d_width=32, steps=500, checkpoint_every=100, base="semantic-l1")
RECONSTRUCTIONS = {"l1": dict(l1=100.0, l2=0.0), "l2": dict(l1=0.0, l2=1.0)}
EBGAN_PULL_AWAY = {"pull_away": 0.1}  # Zhao et al.'s pull-away term


def half_lr(objective: str) -> float:
    """Fine-tuning rate: half the recipe's own (the default's LSGAN phase: 1e-4 = 2e-4 / 2)."""
    return registry.recipe_card(objective).optimizer["lr"] / 2


def semantic_finetune(objective: str, reconstruction: str = "l1", **objective_options) -> dict:
    """The recipe of `objective` fine-tuned from semantic-l1, trained into runs/s2/OBJECTIVE-RECONSTRUCTION[-aid]."""
    options = {**(EBGAN_PULL_AWAY if objective == "ebgan" else {}), **objective_options}
    budget = dict(SEMANTIC_FINETUNE)
    if objective in ("wgan", "wgan-gp"):  # five critic updates per step: a width-32 critic (and WGAN's warm-up of
        budget["d_width"] = 16            # 100 updates on the first 25 steps) would take hours per run on 2 cores
        if objective == "wgan":
            options.setdefault("warmup_critic_steps", 0)
    return dict(model=objective, lr=half_lr(objective), **budget, **RECONSTRUCTIONS[reconstruction],
                objective_options=options, run=f"runs/s2/{objective}-{reconstruction}")


def config(name: str, recipe: dict, data_dir: Path, export_name: str | None = None):
    """The TrainConfig of `recipe`, trained into its run folder and exported as `export_name` (default `name`)."""
    init = {"init_from": str(committed_model(*recipe["init"]))} if "init" in recipe else {}  # grown from a committed model
    return stages.stage_config(recipe, data_dir, ROOT / recipe["run"], export_name or name, BASE_MODELS, **init)


def committed_model(path: str, commit: str, sha256: str) -> Path:
    """A .keras file as committed at `commit` (a stage's starting point, which a later stage may have replaced in
    models/): the file itself while it is still that one, else restored from git into runs/zoo/models."""
    current = ROOT / path
    if current.is_file() and registry.file_sha256(current) == sha256:
        return current
    restored = BASE_MODELS / f"{Path(path).stem}-{commit[:8]}.keras"
    if not (restored.is_file() and registry.file_sha256(restored) == sha256):
        blob = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"], capture_output=True, check=True).stdout
        restored.parent.mkdir(parents=True, exist_ok=True)
        files.write_atomic(restored, blob)
    if registry.file_sha256(restored) != sha256:
        raise SystemExit(f"{path} at {commit}: checksum differs from the recipe's ({sha256[:12]}...)")
    return restored


def train_base(recipe: dict, data_dir: Path) -> None:
    """Train (or resume, or re-export: cheap when finished) the stages `recipe` starts from, first stage first."""
    stages.train_bases([config(name, base, data_dir) for name, base in stages.chain(recipe, BASES)], BASE_MODELS)
