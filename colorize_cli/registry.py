"""Models by name. A card (dataclass, saved as `<name>.json` beside `<name>.keras`) ties the weights
to everything needed to use and reproduce them: architecture, input size, normalisation,
training objective and loss weights, optimiser, metrics and the data it was trained on.

Built-in names always exist: the training recipes (`colorize train -r pix2pix-wgan`), named apart from every
bundled model; a card file in a models directory adds weights and measurements, or registers a user's exported model."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from colorize_cli.colorspace import Normalization
from colorize_cli.errors import ColorizeError, UsageError

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIRS = [PACKAGE_DIR.parent / "models", PACKAGE_DIR / "bundled_models"]  # source checkout, wheel
DEFAULT_MODEL = "lsgan"


class UnknownModelError(UsageError, KeyError):
    def __init__(self, name: str, known: list[str], what: str = "model"):
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
        tail = "; or pass a path to a .keras file" if what == "model" else " (`colorize models` lists them)"
        super().__init__(f"unknown {what} {name!r}: {hint}known {what}s: {', '.join(known)}{tail}")

    def __str__(self):  # KeyError would quote the message
        return self.args[0]


@dataclass
class ModelCard:
    name: str
    description: str = ""
    arch: str = "unet"  # generator builder in networks.GENERATORS
    arch_options: dict = field(default_factory=dict)  # further builder arguments (semantic: encoder file, trainable strides)
    input_size: int = 256
    width: int = 32  # pix2pix uses 64; 32 trains ~4x faster on a CPU (--width 64 for the original)
    objective: str = "lsgan"  # key of gan.OBJECTIVES
    adv: float = 1.0  # generator loss = adv * L_adv + l1 * L1 + l2 * L2 (normalised ab)
    l1: float = 100.0
    l2: float = 0.0
    d_width: int = 32
    optimizer: dict = field(default_factory=lambda: {"name": "adam", "lr": 2e-4, "beta_1": 0.5, "beta_2": 0.999})
    objective_options: dict = field(default_factory=dict)  # overrides of gan.Objective fields
    normalization: dict = field(default_factory=lambda: dataclasses.asdict(Normalization()))
    saturation: float = 1.0  # predicted ab is scaled by this at inference (chosen on validation photos; see recipes/validate.py)
    weights: str | None = None  # file name of the .keras model, relative to the card
    sha256: str | None = None
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    pretrained: dict = field(default_factory=dict)  # origin and licence of pretrained weights inside the model
    # the LiteRT export run by default (`colorize export NAME --format tflite`): file, sha256, precision,
    # bytes, the .keras checksum it came from, calibration and the quality check against the .keras
    tflite: dict = field(default_factory=dict)
    path: Path | None = field(default=None, compare=False, repr=False)  # the card file, when loaded from one

    @property
    def weights_path(self) -> Path | None:
        if not (self.weights and self.path):
            return None
        return self.path.parent / self.weights

    @property
    def has_weights(self) -> bool:
        return bool(self.weights_path and self.weights_path.is_file())

    @property
    def tflite_path(self) -> Path | None:
        if not (self.tflite.get("file") and self.path):
            return None
        return self.path.parent / self.tflite["file"]

    @property
    def has_tflite(self) -> bool:
        return bool(self.tflite_path and self.tflite_path.is_file())

    @property
    def tflite_is_current(self) -> bool:
        """Was the .tflite converted from the .keras the card names now? (A re-trained model whose
        .tflite was not re-exported keeps its old one on disk: stale, so the .keras is used.)"""
        return self.tflite.get("keras_sha256") in (None, self.sha256) or not self.has_weights

    @property
    def runnable(self) -> bool:
        """Can `colorize -m NAME` run it here: its .keras, or a current .tflite (a light install ships
        the bundled models as .tflite only: the .keras files stay in the source checkout's models/)."""
        return self.has_weights or (self.has_tflite and self.tflite_is_current)

    @property
    def norm(self) -> Normalization:
        return Normalization(**self.normalization)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data.pop("path")
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> "ModelCard":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ColorizeError(f"{path}: cannot read model card ({exc}); delete or fix the file") from None
        known = {f.name for f in dataclasses.fields(cls)} - {"path"}
        card = cls(**{k: v for k, v in data.items() if k in known})
        card.path = Path(path)
        return card


_ADAM_PIX2PIX = {"name": "adam", "lr": 2e-4, "beta_1": 0.5, "beta_2": 0.999}
# The training recipes, named ARCH-OBJECTIVE so that no recipe is called like a model: `lsgan` is the bundled
# model, `semantic-lsgan` the recipe that grows it (the default of `colorize train`, in stages: colorize_cli/stages.py)
# and `pix2pix-lsgan` the from-scratch U-Net trained by the same objective.
BUILTIN = {
    "semantic-lsgan": ModelCard("semantic-lsgan", "the bundled lsgan's network and first stages: ImageNet MobileNetV2 encoder "
                                "(frozen) + U-Net decoder at 192 px; L1 pretraining, then least-squares GAN + 100*L1",
                                arch="semantic", input_size=192, width=16, objective="lsgan",
                                optimizer={**_ADAM_PIX2PIX, "lr": 1e-4}),
    "colorful-l1": ModelCard("colorful-l1", "Colorful Image Colorization CNN (Zhang et al. 2016) regressing ab with L1",
                             arch="colorful", width=32, objective="regression", adv=0.0, l1=1.0,
                             optimizer={"name": "adam", "lr": 1e-3, "beta_1": 0.9, "beta_2": 0.999}),
    "pix2pix-gan": ModelCard("pix2pix-gan", "pix2pix U-Net + PatchGAN, cross-entropy GAN + 100*L1", objective="gan",
                             optimizer=_ADAM_PIX2PIX),
    "pix2pix-lsgan": ModelCard("pix2pix-lsgan", "pix2pix U-Net + PatchGAN, least-squares GAN + 100*L1", objective="lsgan",
                               optimizer=_ADAM_PIX2PIX),
    "pix2pix-ebgan": ModelCard("pix2pix-ebgan", "pix2pix U-Net + auto-encoder discriminator, energy-based GAN + 100*L1",
                               objective="ebgan", optimizer=_ADAM_PIX2PIX),
    "pix2pix-wgan": ModelCard("pix2pix-wgan", "pix2pix U-Net + PatchGAN critic (no BN), Wasserstein GAN with weight "
                              "clipping + 100*L1", objective="wgan", optimizer={"name": "rmsprop", "lr": 5e-5, "rho": 0.9}),
    "pix2pix-wgan-gp": ModelCard("pix2pix-wgan-gp", "pix2pix U-Net + PatchGAN critic (LayerNorm), WGAN with gradient penalty "
                                 "+ 100*L1", objective="wgan-gp", optimizer={"name": "adam", "lr": 1e-4, "beta_1": 0.0, "beta_2": 0.9}),
}
DEFAULT_RECIPE = "semantic-lsgan"
# The recipes' old names, which are the bundled models' names: kept working (a run's config.json, users' scripts,
# recipes/zoo.py's stages) with their old meaning, the CLI saying the new name once
OLD_RECIPE_NAMES = {"colorful": "colorful-l1", "gan": "pix2pix-gan", "lsgan": "pix2pix-lsgan", "ebgan": "pix2pix-ebgan",
                    "wgan": "pix2pix-wgan", "wgan-gp": "pix2pix-wgan-gp"}


def recipe_card(name: str) -> ModelCard:
    """A recipe's card (a copy) by its name or old name; UnknownModelError names the recipes otherwise."""
    card = BUILTIN.get(OLD_RECIPE_NAMES.get(name, name))
    if card is None:
        raise UnknownModelError(name, sorted(BUILTIN), what="recipe")
    return dataclasses.replace(card)


def user_models_dir() -> Path:
    """Where `train` exports models unless told otherwise: $COLORIZE_MODELS_DIR, else the user's data folder."""
    if os.environ.get("COLORIZE_MODELS_DIR"):
        return Path(os.environ["COLORIZE_MODELS_DIR"])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "colorize" / "models"


def models_dirs() -> list[Path]:
    """Where cards and weights are looked up, first match winning: the user's models, then the bundled ones."""
    return [d for d in [user_models_dir(), *BUNDLED_DIRS] if d.is_dir()]


def list_models() -> dict[str, ModelCard]:
    """Every known model by name: built-in recipes, overlaid by card files (earlier directories win)."""
    cards = {name: dataclasses.replace(card) for name, card in BUILTIN.items()}
    for directory in reversed(models_dirs()):
        for card_file in sorted(directory.glob("*.json")):
            card = ModelCard.from_file(card_file)
            cards[card.name] = card
    return cards


@dataclass
class Listing:
    """A model name as `colorize models` shows it: the card the name resolves to, where it comes from
    ("user": the user's models folder, "bundled": shipped with the tool, "recipe": a built-in training
    recipe without weights here) and the card files of the same name it hides."""
    name: str
    card: ModelCard
    origin: str
    hides: list[Path] = field(default_factory=list)


def _is_bundled_dir(directory: Path) -> bool:
    return any(directory.resolve() == d.resolve() for d in BUNDLED_DIRS if d.is_dir())


def listings() -> list[Listing]:
    """Every model name, in lookup order per name (the first card found wins, the others are hidden)."""
    found: dict[str, Listing] = {}
    seen_dirs = set()
    for directory in models_dirs():
        if directory.resolve() in seen_dirs:
            continue
        seen_dirs.add(directory.resolve())
        origin = "bundled" if _is_bundled_dir(directory) else "user"
        for card_file in sorted(directory.glob("*.json")):
            card = ModelCard.from_file(card_file)
            if card.name in found:
                found[card.name].hides.append(card_file)
            else:
                found[card.name] = Listing(card.name, card, origin)
    for name, card in BUILTIN.items():
        if name not in found:
            found[name] = Listing(name, dataclasses.replace(card), "recipe")
    return sorted(found.values(), key=lambda listing: listing.name)


def reserved_names() -> set[str]:
    """Names a user's model may not take: the built-in recipes and every bundled model. A user model of
    such a name would silently replace the bundled one for every `colorize -m NAME` (and the default)."""
    names = set(BUILTIN)
    for directory in BUNDLED_DIRS:
        if directory.is_dir():
            names |= {ModelCard.from_file(card_file).name for card_file in directory.glob("*.json")}
    return names


def export_clash(name: str, models_dir: Path, run_dir: str | os.PathLike | None = None) -> str | None:
    """Why exporting a model called `name` into `models_dir` would shadow or overwrite another model, or
    None if it would not. Re-exporting from the run that made the existing model is not a clash (a
    resumed or continued run updates its own model)."""
    models_dir = Path(models_dir)
    if name in reserved_names() and not _is_bundled_dir(models_dir):
        return (f"{name!r} is the name of a bundled model: a model of that name in {models_dir} would replace it "
                f"for every `colorize -m {name}`" + (" and for plain `colorize`" if name == DEFAULT_MODEL else ""))
    card_file, weights = models_dir / f"{name}.json", models_dir / f"{name}.keras"
    if not (card_file.exists() or weights.exists()):
        return None
    made_by = None
    if card_file.is_file():
        try:
            made_by = ModelCard.from_file(card_file).training.get("run")
        except ColorizeError:
            made_by = None
    if made_by and run_dir is not None and Path(made_by).resolve() == Path(run_dir).resolve():
        return None
    origin = f" (from the run {made_by})" if made_by else ""
    return f"{card_file if card_file.exists() else weights} already exists{origin} and would be overwritten"


class ExportClash(ColorizeError):
    """Exporting would shadow a bundled model or overwrite another run's model."""


def check_export(name: str, models_dir: Path, run_dir=None, overwrite: bool = False) -> None:
    """Refuse (ExportClash) what `export_clash` finds, unless `overwrite`."""
    clash = None if overwrite else export_clash(name, models_dir, run_dir)
    if clash:
        raise ExportClash(f"{clash}; choose another --name (or --run), or add --overwrite to do it anyway")


def get_card(name: str) -> ModelCard:
    cards = list_models()
    if name not in cards:  # named: the models there are to run (recipes have no weights until trained)
        raise UnknownModelError(name, sorted(n for n, card in cards.items() if card.has_weights or card.has_tflite))
    return cards[name]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_keras_model(path: Path):
    """Load a .keras file in Keras safe mode: a file with Lambda layers or custom code is refused."""
    from colorize_cli import networks  # noqa: F401  (registers the project's own layers for deserialisation)
    from colorize_cli._keras import keras

    path = Path(path)
    if not path.is_file():
        raise ColorizeError(f"{path}: model file not found; check the path or run `colorize models`")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "lambda" in str(exc).lower():
            raise ColorizeError(f"{path}: refused to load: the file contains executable code (a Lambda layer); "
                                f"only load model files you trust, rebuilt without Lambda layers") from None
        raise ColorizeError(f"{path}: not a usable Keras model ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # zip/h5 corruption surfaces as many different types
        raise ColorizeError(f"{path}: cannot load model ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                            f"re-export or re-download it") from None


def resolve(model: str) -> tuple[ModelCard, Path]:
    """A model name or a path to a .keras file -> (card, weights path), checking the card's checksum."""
    as_path = Path(model)
    if model.endswith(".keras") and not as_path.is_file():
        raise UsageError(f"{as_path}: model file not found; check the path, or give a model name (`colorize models` lists them)")
    if model.endswith(".keras") or as_path.is_file():
        sidecar = as_path.with_suffix(".json")
        card = ModelCard.from_file(sidecar) if sidecar.is_file() else ModelCard(name=as_path.stem, weights=as_path.name)
        card.path = sidecar
        _check_sha256(card, as_path)
        return card, as_path
    card = get_card(model)
    if not card.has_weights and card.has_tflite:  # a pip-installed wheel: LiteRT only, by design (install size)
        raise ColorizeError(f"model {model!r} is installed as {card.tflite_path.name} (LiteRT) only: its Keras weights "
                            f"{card.weights or model + '.keras'} (for --backend tf, train --init, export) are in the source "
                            f"repository's models/; install from a clone with `pip install -e '.[train]'` or pass that .keras path")
    if not card.has_weights and model in BUILTIN:
        raise UsageError(f"{model!r} is a training recipe, not a model: train one with `colorize train DATA --recipe "
                         f"{model}`, or pick a model from `colorize models`")
    if not card.has_weights:
        raise ColorizeError(f"model {model!r} has no trained weights here; train it with "
                            f"`colorize train DATA --recipe {model}` or pick one marked in `colorize models`")
    _check_sha256(card, card.weights_path)
    return card, card.weights_path


def resolve_tflite(model: str) -> tuple[ModelCard, Path] | None:
    """A registered name whose card has a current .tflite, or a path to a .tflite file -> (card, .tflite
    path), checksum checked; None when there is none to run (a .keras path: the user's own file)."""
    as_path = Path(model)
    if model.endswith(".tflite"):
        if not as_path.is_file():
            raise UsageError(f"{as_path}: model file not found; check the path, or give a model name (`colorize models` lists them)")
        sidecar = as_path.with_suffix(".json")
        card = ModelCard.from_file(sidecar) if sidecar.is_file() else ModelCard(name=as_path.stem)
        if card.tflite.get("file") != as_path.name:  # the card describes another file: keep its settings only
            card.tflite = {"file": as_path.name}
        card.path = sidecar
    elif model.endswith(".keras") or as_path.is_file():
        return None
    else:
        card = get_card(model)
        if not (card.has_tflite and card.tflite_is_current):
            return None
    expected = card.tflite.get("sha256")
    if expected and file_sha256(card.tflite_path) != expected:
        raise ColorizeError(f"{card.tflite_path}: checksum does not match its card {card.path.name}; the file is "
                            f"corrupt or was replaced: reinstall it or re-export with `colorize export {card.name} --format tflite`")
    return card, card.tflite_path


def _check_sha256(card: ModelCard, weights: Path) -> None:
    if card.sha256 and weights.is_file() and file_sha256(weights) != card.sha256:
        raise ColorizeError(f"{weights}: checksum does not match its card {card.path.name}; "
                            f"the file is corrupt or was replaced: reinstall or re-export it")


def load_generator(model: str = DEFAULT_MODEL):
    """(keras generator, card) for a registered name or a .keras path."""
    card, path = resolve(model)
    generator = load_keras_model(path)
    shape = generator.input_shape
    if len(shape) != 4 or shape[-1] != 1 or generator.output_shape[-1] != 2 or shape[1] is None or shape[1] != shape[2]:
        raise ColorizeError(f"{path}: not a colorization model: expected input (N, S, S, 1) and output (N, S, S, 2), "
                            f"got {shape} -> {generator.output_shape}")
    card.input_size = int(shape[1])
    return generator, card
