"""Recipes in stages, and the plan `colorize train` runs.

A stage is a dict of TrainConfig fields, plus `base`: the name of the stage it starts from (in `BASES`), trained
first and exported for this one's `init_from`. `colorize train` (`plan`, `train_plan`) and the zoo that made the
bundled models (colorize_cli/zoo.py, recipes/zoo.py) chain the same bases with the same functions; the zoo adds its
own run folders and the encoder file it used. TensorFlow (`train`) is imported only when a config is made.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from colorize_cli import registry
from colorize_cli.errors import UsageError

# The bundled default's network and data: the ImageNet MobileNetV2 encoder with a U-Net decoder at 192 px, width 16,
# every source folder drawn equally often (recipes/zoo.py's SEMANTIC adds the .tflite encoder it was read from)
SEMANTIC = dict(arch="semantic", image_size=192, width=16, batch_size=16, seed=0, balance=True)

BASES = {
    # NoGAN stage (a): the decoder learns L1 regression of ab on the frozen pretrained encoder
    "semantic-l1": dict(model="semantic-lsgan", objective="regression", l1=1.0, lr=5e-4, steps=6000, checkpoint_every=200,
                        **SEMANTIC),
}

# Recipes of more than one stage (the others are one stage of their registry card): their last stage, its `base`
# trained first. semantic-lsgan is the bundled lsgan's stage 0 (recipes/zoo.py STAGES["lsgan-s0"], a test keeps them
# equal): semantic-l1, then LSGAN + 100*L1 with a fresh PatchGAN (width 32) for 1000 steps at lr 1e-4.
STAGED = {
    "semantic-lsgan": dict(model="semantic-lsgan", **SEMANTIC, d_width=32, lr=1e-4, steps=1000, checkpoint_every=100,
                           base="semantic-l1"),
}

# Options that apply to every stage of a recipe: the network and data stay the same from stage to stage (a stage
# starts from the one before). The others (steps, lr, losses, objective options...) set the last stage.
SHARED = ("arch", "encoder", "image_size", "width", "batch_size", "seed", "balance", "val_dir", "strategy",
          "mixed_precision", "cache_photos")
NETWORK = {"arch": "--arch", "image_size": "--image-size", "width": "--width"}  # what --init decides


def recipe_stage(name: str) -> dict:
    """The last stage of recipe `name` (a new or an old name)."""
    name = registry.OLD_RECIPE_NAMES.get(name, name)
    registry.recipe_card(name)  # unknown -> UnknownModelError naming the recipes
    return dict(STAGED.get(name, {"model": name}))


def chain(recipe: dict, bases: dict) -> list[tuple[str, dict]]:
    """The stages `recipe` starts from, first stage first: (name, stage) pairs out of `bases`."""
    stages = []
    while "base" in recipe:
        name = recipe["base"]
        recipe = bases[name]
        stages.insert(0, (name, recipe))
    return stages


def train_fields(stage: dict) -> dict:
    """A stage's TrainConfig fields (the rest, e.g. the zoo's run folder and selection notes, is its caller's)."""
    from colorize_cli import train

    fields = {f.name for f in dataclasses.fields(train.TrainConfig)}
    return {key: value for key, value in stage.items() if key in fields}


def stage_config(stage: dict, data_dir, run_dir, export_name: str, base_models: Path | None = None, **overrides):
    """The TrainConfig of `stage`: its fields, `overrides` over them; a stage with a base starts from the base's
    model in `base_models`."""
    from colorize_cli import train

    fields = train_fields(stage)
    if "base" in stage:
        fields["init_from"] = str(Path(base_models) / f"{stage['base']}.keras")
    return train.TrainConfig(**{**fields, **overrides, "data_dir": str(data_dir), "run_dir": str(run_dir),
                                "export_name": export_name})


def train_bases(configs, base_models: Path, **train_options) -> None:
    """Train (or resume, or re-export: cheap when finished) each base stage in order into `base_models`, where the
    next stage starts from it."""
    from colorize_cli import train

    for cfg in configs:
        train.train(cfg, models_dir=base_models, overwrite=True, **train_options)


def init_network(init: str, options: dict) -> dict:
    """The network fields of a run that fine-tunes `init` (a model name or .keras path), from its card and file:
    arch, image size, width, the encoder (the model's own .keras: it holds the encoder's weights) and which encoder
    blocks train. An option that contradicts them is a UsageError naming both values and the fix."""
    card, path = registry.resolve(init)
    network = {"arch": card.arch, "image_size": card.input_size, "width": card.width}
    for key, flag in NETWORK.items():
        if options.get(key) is not None and options[key] != network[key]:
            raise UsageError(f"{flag} {options[key]} contradicts --init {init} ({flag.lstrip('-')} {network[key]}): fine-tuning "
                             f"keeps the model's network; leave {flag} out, or drop --init to train a new network")
    if options.get("encoder"):
        raise UsageError(f"--encoder {options['encoder']} with --init {init}: the model's weights, its encoder's included, are "
                         f"the start; leave --encoder out")
    if card.arch == "semantic":
        network["encoder"] = str(path)
        network["train_encoder_from"] = card.arch_options.get("train_encoder_from", 0)
        if options.get("train_encoder_from") is not None:
            network["train_encoder_from"] = options["train_encoder_from"]
    return {**network, "init_from": init}


def plan(recipe: str, data_dir, run_dir, export_name: str | None = None, options: dict | None = None,
         init: str | None = None, base_steps: int | None = None, with_bases: bool = True) -> list:
    """The TrainConfigs `colorize train` runs, first stage first. The recipe's base stages (none with `init` or
    without `with_bases`) train in RUN/stages/NAME and are exported there for the next; the last trains in RUN and is
    exported as `export_name`. `options` (TrainConfig fields the user gave) go over the last stage, and the SHARED
    ones over every stage; `base_steps` sets the steps of the base stages. With `init` the last stage starts from
    that model, whose card and file decide the network (`init_network`)."""
    options = {key: value for key, value in (options or {}).items() if value is not None}
    if "epochs" in options and "steps" not in options:  # --epochs over a recipe's steps: the steps give way
        options["steps"] = None
    last = recipe_stage(recipe)
    if init is not None:
        options = {**options, **init_network(init, options)}
        last.pop("base", None)
        for key in ("encoder", "train_encoder_from"):  # the recipe's network settings give way to the model's
            last.pop(key, None)
    elif not with_bases:
        last.pop("base", None)
    run_dir = Path(run_dir)
    base_models = run_dir / "stages"
    bases = chain(last, BASES)
    if base_steps and not bases:
        raise UsageError(f"--base-steps {base_steps}: {'--init ' + init if init else 'this run'} has no first stages to "
                         f"size (--init starts from the model); leave --base-steps out and give --steps")
    shared = {key: value for key, value in options.items() if key in SHARED}
    configs = [stage_config(stage, data_dir, base_models / name, name, base_models, **shared,
                            **({"steps": base_steps} if base_steps else {}))
               for name, stage in bases]
    configs.append(stage_config(last, data_dir, run_dir, export_name or run_dir.name, base_models, **options))
    return configs


def train_plan(configs, models_dir=None, overwrite: bool = False, log=print, **train_options) -> Path:
    """Train a `plan`'s stages in order; the last one's card path."""
    from colorize_cli import train

    for i, cfg in enumerate(configs[:-1], start=1):
        log(f"stage {i} of {len(configs)}: {cfg.export_name} ({cfg.steps} steps) in {cfg.run_dir}")
        train_bases([cfg], Path(cfg.run_dir).parent, log=log, **train_options)
    if len(configs) > 1:
        log(f"stage {len(configs)} of {len(configs)}: {configs[-1].export_name} in {configs[-1].run_dir}, from {configs[-1].init_from}")
    return train.train(configs[-1], models_dir=models_dir, overwrite=overwrite, log=log, **train_options)
