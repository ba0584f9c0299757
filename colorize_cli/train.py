"""Training: config -> data -> ColorGAN -> fit -> checkpoints, samples, metrics -> exported model.

No CLI code here; `cli.train` only turns flags into a `TrainConfig`."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import colorspace, data, files, gan, metrics, networks, registry
from colorize_cli._keras import keras, tf
from colorize_cli.errors import ColorizeError


@dataclass
class TrainConfig:
    model: str = "pix2pix-lsgan"  # one stage's recipe (registry.BUILTIN; an old name works): the defaults come from its card
    objective: str | None = None  # override the recipe's objective (e.g. "regression" for a NoGAN pretraining stage)
    arch: str | None = None  # override the recipe's generator architecture (e.g. "semantic")
    encoder: str | None = None  # semantic generator: a TFLite classifier or a semantic .keras (default: default_encoder())
    train_encoder_from: int = 0  # semantic generator: fine-tune the encoder from this output stride on (0: frozen)
    data_dir: str = ""
    run_dir: str = "runs/lsgan"
    epochs: int = 10
    steps: int | None = None  # total generator steps; overrides epochs
    batch_size: int = 16
    image_size: int | None = None  # None: the card's input size
    width: int | None = None  # generator base width
    d_width: int | None = None  # discriminator base width
    lr: float | None = None
    lr_decay: float = 0.5  # fraction of training, at the end, over which lr decays linearly to 0
    adv: float | None = None
    l1: float | None = None
    l2: float | None = None
    rebalance: float = 0.0  # class rebalancing strength of the L1 term (0: plain L1; Zhang et al.: 0.5)
    objective_options: dict = field(default_factory=dict)  # e.g. {"clip": 0.01, "margin": 0.3}
    val_dir: str | None = None
    balance: bool = False  # draw every top-level source folder of data_dir about equally often
    init_from: str | None = None  # start the generator from this model (name or .keras path): fine-tuning
    seed: int = 0
    checkpoint_every: int = 500  # steps
    log_every: int = 50  # steps between rows of steps.csv (window-mean losses)
    strategy: str = "auto"  # auto (all local GPUs if more than one), mirrored, multi-worker (TF_CONFIG), none
    mixed_precision: bool = False  # bfloat16 compute, float32 weights (no loss scaling needed)
    cache_photos: bool = True  # decode every training photo once into RAM at ~1.7x the training size (data.cache_photos)
    export_name: str | None = None  # default: the run directory's name

    def card(self) -> registry.ModelCard:
        """The recipe: the registry card with this config's overrides applied."""
        card = dataclasses.replace(registry.recipe_card(self.model), metrics={}, training={}, weights=None, sha256=None)
        if self.objective is not None:
            if self.objective not in gan.OBJECTIVES:
                raise ColorizeError(f"unknown --objective {self.objective!r}; choose one of {', '.join(gan.OBJECTIVES)}")
            card.objective = self.objective
        if self.arch is not None:
            if self.arch not in networks.GENERATORS:
                raise ColorizeError(f"unknown --arch {self.arch!r}; choose one of {', '.join(networks.GENERATORS)}")
            card.arch = self.arch
        if card.arch == "semantic":
            encoder = Path(self.encoder) if self.encoder else default_encoder()
            card.arch_options = {"encoder": str(encoder), "train_encoder_from": int(self.train_encoder_from)}
            card.pretrained = pretrained_origin(encoder)
        elif self.encoder or self.train_encoder_from:
            raise ColorizeError(f"--encoder and --train-encoder-from apply only to --arch semantic, not {card.arch!r}")
        for key in ("width", "d_width", "adv", "l1", "l2"):
            if getattr(self, key) is not None:
                setattr(card, key, getattr(self, key))
        if self.image_size is not None:
            card.input_size = self.image_size
        if self.lr is not None:
            card.optimizer = {**card.optimizer, "lr": self.lr}
        card.objective_options = {**card.objective_options, **self.objective_options}
        card.name = self.export_name or Path(self.run_dir).name
        return card


# Bundled models whose encoder is ImageNet's own (trained frozen: train_encoder_from 0), the first one here being
# where a fresh semantic generator takes its encoder from when no --encoder FILE.tflite is given. Not `lsgan`:
# its encoder was fine-tuned on photos.
PRISTINE_ENCODER_MODELS = ("gan", "ebgan", "wgan", "wgan-gp")


def default_encoder() -> Path:
    """The .keras file of the first bundled semantic model whose card says its encoder stayed frozen."""
    for name in PRISTINE_ENCODER_MODELS:
        card = registry.list_models().get(name)
        if card and card.arch == "semantic" and card.has_weights and not card.arch_options.get("train_encoder_from"):
            return registry.resolve(name)[1]
    raise ColorizeError("no bundled model with ImageNet's encoder weights here (models/gan.keras, from the source "
                        "checkout); pass --encoder FILE.tflite (an ImageNet MobileNetV2 classifier) or --init MODEL")


def pretrained_origin(encoder: Path) -> dict:
    """What a model card says about pretrained weights inside the model: file, checksum, origin and licence
    (read from a SOURCE.md / LICENSE beside the file when there is one). An encoder taken from a .keras model
    keeps that model's record, plus which file it was taken from."""
    if not encoder.is_file():
        raise ColorizeError(f"{encoder}: encoder file not found; pass an existing .tflite file with --encoder")
    if encoder.suffix == ".keras":
        card_file = encoder.with_suffix(".json")
        pretrained = registry.ModelCard.from_file(card_file).pretrained if card_file.is_file() else {}
        return {**pretrained, "taken_from": {"file": encoder.name, "sha256": registry.file_sha256(encoder)}}
    origin = {"file": encoder.name, "sha256": registry.file_sha256(encoder)}
    source = encoder.parent / "SOURCE.md"
    if source.is_file():
        text = source.read_text(errors="replace")
        # the paragraph that starts with "**Origin.**", joined into one line
        paragraph = text.split("**Origin.**", 1)[1].split("\n\n", 1)[0] if "**Origin.**" in text else ""
        origin["origin"] = " ".join(paragraph.split()) or "see SOURCE.md beside the file"
    licence = encoder.parent / "LICENSE"
    if licence.is_file():
        head = licence.read_text(errors="replace")[:400]
        origin["licence"] = "Apache-2.0" if "Apache License" in head and "2.0" in head else "see LICENSE beside the file"
    return origin


def _optimizer(spec: dict, total_steps: int, decay_fraction: float):
    decay_start = int(total_steps * (1 - decay_fraction))
    lr = ConstantThenLinearDecay(spec["lr"], decay_start, total_steps) if decay_fraction > 0 else spec["lr"]
    if spec["name"] == "adam":  # TF1-era epsilons: Keras' defaults differ (METHOD pitfall 7)
        return keras.optimizers.Adam(lr, beta_1=spec.get("beta_1", 0.9), beta_2=spec.get("beta_2", 0.999), epsilon=1e-8)
    if spec["name"] == "rmsprop":
        return keras.optimizers.RMSprop(lr, rho=spec.get("rho", 0.9), epsilon=1e-10)
    raise ValueError(f"unknown optimizer {spec['name']!r}")


@keras.saving.register_keras_serializable("colorize")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr for the first `decay_start` updates, then linearly down to 0 at `total_steps` (pix2pix)."""

    def __init__(self, lr, decay_start, total_steps):
        self.lr, self.decay_start, self.total_steps = float(lr), int(decay_start), int(total_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        span = max(self.total_steps - self.decay_start, 1)
        return self.lr * (1.0 - keras.ops.clip((step - self.decay_start) / span, 0.0, 1.0))

    def get_config(self):
        return {"lr": self.lr, "decay_start": self.decay_start, "total_steps": self.total_steps}


def build_gan(card: registry.ModelCard, total_steps: int, decay_fraction: float, seed: int = 0, ab_weights=None):
    """ColorGAN for a card: networks from `networks`, objective from `gan.OBJECTIVES`, compiled."""
    objective = gan.OBJECTIVES[card.objective].replace(**card.objective_options)
    arch_options = card.arch_options
    if card.arch == "semantic" and not arch_options.get("encoder"):  # a recipe's card: the encoder a fresh run gets
        arch_options = {**arch_options, "encoder": str(default_encoder())}
    generator = networks.build_generator(card.arch, input_size=card.input_size, width=card.width, **arch_options)
    discriminator = None
    if objective.discriminator == "patch":
        discriminator = networks.patch_discriminator(card.input_size, card.d_width, norm=objective.d_norm,
                                                     minibatch_stddev=objective.minibatch_disc)
    elif objective.discriminator == "energy":
        discriminator = networks.energy_discriminator(card.input_size, card.d_width, conditional=objective.conditional_energy)
    model = gan.ColorGAN(generator, discriminator, objective, adv=card.adv, l1=card.l1, l2=card.l2, seed=seed,
                         ab_weights=ab_weights)
    # the critic's schedule must span all its updates, warm-up included, or its lr reaches 0 early
    d_steps = max(objective.critic_updates(total_steps), 1)
    model.compile(g_optimizer=_optimizer(card.optimizer, total_steps, decay_fraction),
                  d_optimizer=_optimizer(card.optimizer, d_steps, decay_fraction) if discriminator is not None else None)
    return model


def sample_grid(l_norm: np.ndarray, ab_pred: np.ndarray, ab_true: np.ndarray, norm=colorspace.DEFAULT_NORMALIZATION):
    """Rows of (input L | prediction | truth) as one uint8 BGR image, plus the mean RGB PSNR."""
    rows, scores = [], []
    for l, pred, true in zip(l_norm, ab_pred, ab_true):
        lightness = norm.denormalize_l(l[:, :, 0])
        gray = colorspace.merge_ab(lightness, np.zeros_like(pred), norm)
        colour = colorspace.merge_ab(lightness, pred, norm)
        truth = colorspace.merge_ab(lightness, true, norm)
        scores.append(metrics.psnr(colour, truth, peak=1.0))
        rows.append(np.hstack([gray, colour, truth]))
    return colorspace.from_float(np.vstack(rows), np.uint8), float(np.mean(scores))


def hardware() -> str:
    """What trained a model, for its card: the CPU model and thread count, plus any GPUs."""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or platform.machine()
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    return f"{cpu}, {os.cpu_count()} CPU threads" + (f", {len(gpus)} GPU(s)" if gpus else "")


write_atomic = files.write_atomic  # the package's one atomic writer (bench scripts call it as train.write_atomic)


ExportClash, check_export = registry.ExportClash, registry.check_export


def export_generator(generator, card: registry.ModelCard, models_dir: Path) -> Path:
    """Write `<name>.keras` and its card `<name>.json` atomically; returns the card path. Overwrites: callers
    decide first (`check_export`)."""
    models_dir = Path(models_dir)
    weights = models_dir / f"{card.name}.keras"
    with files.atomic_path(weights, suffix=".part.keras") as tmp:  # Keras wants the .keras suffix
        networks.in_float32(generator).save(tmp)  # a model for use: float32 whatever the training's precision
    card.weights, card.sha256 = weights.name, registry.file_sha256(weights)
    card_path = models_dir / f"{card.name}.json"
    write_atomic(card_path, card.to_json().encode())
    card.path = card_path
    return card_path


def make_callbacks(run_dir: Path, model, val_arrays, card, checkpoint, checkpoint_every: int, log, log_every: int = 50):
    class RunMonitor(keras.callbacks.Callback):
        """Per epoch: sample grid PNG, RGB PSNR on the fixed validation images, CSV row, loss plot, checkpoint.
        Every `log_every` steps: the window's mean losses in steps.csv (finer curves than per epoch)."""

        def __init__(self):
            super().__init__()
            self.start = time.time()
            self.csv_path = run_dir / "metrics.csv"

        def on_epoch_begin(self, epoch, logs=None):
            self.window_start = (0, {})  # (batches, running sums) at the last steps.csv row

        def on_train_batch_end(self, batch, logs=None):
            step = int(model.g_optimizer.iterations.numpy())
            if checkpoint_every and step % checkpoint_every == 0:
                checkpoint.save(step)
            if log_every and step % log_every == 0 and logs:
                self._log_window(step, batch + 1, logs)

        def _log_window(self, step, batches, logs):
            """Mean losses over the last window of steps, from Keras' running epoch means (sum differences)."""
            sums = {k: float(v) * batches for k, v in logs.items()}
            start, start_sums = self.window_start
            row = {"step": step, **{k: (v - start_sums.get(k, 0.0)) / (batches - start) for k, v in sums.items()}}
            self.window_start = (batches, sums)
            path = run_dir / "steps.csv"
            new = not path.exists()
            with open(path, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(row)

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            l_val, ab_val = val_arrays
            pred = model.generator.predict(l_val, batch_size=8, verbose=0)
            grid, val_psnr = sample_grid(l_val[:8], pred[:8], ab_val[:8], card.norm)
            _, full_psnr = sample_grid(l_val, pred, ab_val, card.norm)
            cv2.imwrite(str(run_dir / "samples" / f"epoch_{epoch + 1:04d}.png"), grid)
            row = {"epoch": epoch + 1, "step": int(model.g_optimizer.iterations.numpy()),
                   "time_s": round(time.time() - self.start, 1), **{k: float(v) for k, v in logs.items()},
                   "val_l1": float(np.abs(pred - ab_val).mean()), "val_psnr": full_psnr,
                   "val_ab_mean": float(np.abs(pred).mean() * card.norm.ab_scale)}  # |ab| collapsing to 0 = sepia
            new = not self.csv_path.exists()
            with open(self.csv_path, "a", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(row)
            plot_losses(self.csv_path, run_dir / "losses.png")
            checkpoint.save(row["step"])
            log(f"epoch {epoch + 1}: " + ", ".join(f"{k}={v:.4g}" for k, v in row.items() if k not in ("epoch",)))

    tensorboard = keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard"), write_graph=False, update_freq="epoch")
    return [RunMonitor(), tensorboard]


def plot_losses(csv_path: Path, png_path: Path) -> None:
    """Loss curves and validation PSNR per epoch, from the run's CSV (so a resumed run plots its whole history)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows]
    keys = [k for k in ("g_loss", "g_adv", "d_loss", "wasserstein", "real_energy", "fake_energy") if k in rows[0]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for key in keys:
        axes[0].plot(steps, [float(r[key]) for r in rows], marker=".", label=key)
    axes[0].set_title("losses (epoch means)")
    axes[1].plot(steps, [float(r["l1"]) for r in rows], marker=".", label="train L1 (ab/110)")
    axes[1].set_title("reconstruction")
    axes[2].plot(steps, [float(r["val_psnr"]) for r in rows], marker=".", color="tab:green", label="validation PSNR (dB)")
    axes[2].set_title("validation")
    for ax in axes:
        ax.set_xlabel("generator step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with files.atomic_path(png_path, suffix=".part.png") as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


class Checkpoint:
    """Both networks and both optimizers in a tf.train.Checkpoint; the index file is replaced last,
    so a kill at any moment leaves the previous checkpoint restorable."""

    def __init__(self, model, run_dir: Path):
        items = {"generator": model.generator, "g_optimizer": model.g_optimizer}
        if model.discriminator is not None:
            items.update(discriminator=model.discriminator, d_optimizer=model.d_optimizer)
        # random-number states (dropout masks, gradient-penalty mixing) are not tracked by the
        # networks' checkpoints; without them a resumed run would draw different noise
        if model.pool is not None:  # the replay pool's contents, so a resumed run shows the same past fakes
            items["image_pool"] = [model.pool.pool_l, model.pool.pool_ab, model.pool.count]
        items["rng"] = [model.seed_generator.state] + [v for net in (model.generator, model.discriminator) if net is not None
                                                      for v in net.non_trainable_variables if "seed_generator_state" in v.path]
        # training wall time survives resumes, so a model card reports the whole run's cost
        self.elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        items["elapsed_s"] = self.elapsed
        self._base, self._session_start = 0.0, time.time()
        self.ckpt = tf.train.Checkpoint(**items)
        self.manager = tf.train.CheckpointManager(self.ckpt, str(run_dir / "checkpoints"), max_to_keep=2)

    def restore(self) -> bool:
        if not self.manager.latest_checkpoint:
            return False
        try:
            self.ckpt.restore(self.manager.latest_checkpoint).expect_partial()
            self._base, self._session_start = float(self.elapsed.numpy()), time.time()
        except (ValueError, tf.errors.OpError) as exc:
            raise ColorizeError(f"{self.manager.latest_checkpoint}: checkpoint does not fit this model "
                                f"({str(exc).splitlines()[0]}); use a new --run folder or the run's original settings") from None
        return True

    @property
    def saved_wall_time(self) -> float:
        """Seconds of training up to the checkpoint restored (0 before any)."""
        return self._base

    def wall_time(self) -> float:
        """Seconds of training in this run so far, over all sessions up to the last checkpoint plus this one."""
        return self._base + time.time() - self._session_start

    def save(self, step: int):
        self.elapsed.assign(self.wall_time())
        self.manager.save(checkpoint_number=step)


def load_run_config(run_dir: Path) -> TrainConfig:
    """A run's config.json as a TrainConfig; a missing, damaged or foreign file is one clear error."""
    config_file = Path(run_dir) / "config.json"
    if not config_file.is_file():
        raise ColorizeError(f"{run_dir}: not a training run (no config.json); give the --run folder of `colorize train`")
    try:
        values = json.loads(config_file.read_text())
        assert isinstance(values, dict)
    except (OSError, ValueError, AssertionError):
        raise ColorizeError(f"{config_file}: not a readable run configuration (JSON object); restore it or train into a new --run") from None
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown:
        raise ColorizeError(f"{config_file}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                            "(written by another version of colorize?); use that version, or remove the key if it is a mistake")
    try:
        return TrainConfig(**values)
    except TypeError as exc:
        raise ColorizeError(f"{config_file}: {exc}; restore the file or train into a new --run") from None


def export_run(run_dir: Path, name: str | None = None, models_dir: Path | None = None, overwrite: bool = False) -> Path:
    """Export the generator of a run's latest checkpoint as a named model (e.g. of a run still in progress).
    Refused (ExportClash) when the name would shadow a bundled model or overwrite another run's model,
    unless `overwrite`."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    card = cfg.card()
    card.name = name or card.name
    models_dir = Path(models_dir or registry.user_models_dir())
    check_export(card.name, models_dir, run_dir, overwrite)
    # same optimizer structure as the run (a schedule has no lr variable), or the checkpoint won't map
    model = build_gan(card, total_steps=cfg.steps or 1, decay_fraction=cfg.lr_decay)
    checkpoint = Checkpoint(model, run_dir)
    if not checkpoint.restore():
        raise ColorizeError(f"{run_dir}: no checkpoint yet; let training run until the first one is saved")
    # the wall time is the run's up to its last checkpoint; the hardware is this machine's (runs are exported where they train)
    card.training = training_record(cfg, card, run_dir, int(model.g_optimizer.iterations.numpy()), checkpoint.saved_wall_time)
    return export_generator(model.generator, card, models_dir)


def init_generator(generator, model: str) -> None:
    """Copy a trained model's weights into `generator` (same architecture, width and input size)."""
    source, source_card = registry.load_generator(model)
    mine, theirs = [w.shape for w in generator.weights], [w.shape for w in source.weights]
    if mine != theirs:
        raise ColorizeError(f"{model}: cannot initialise from it: its network ({source_card.arch}, width {source_card.width}, "
                            f"{source_card.input_size} px) differs from this run's; use the same --recipe, --width and --image-size")
    generator.set_weights(source.get_weights())


def make_strategy(name: str):
    """tf.distribute strategy by name. `auto` mirrors over local GPUs when there are several."""
    if name == "auto":
        name = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "none"
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ColorizeError("--strategy multi-worker needs TF_CONFIG describing the cluster (see the README)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ColorizeError(f"unknown --strategy {name!r}; use auto, mirrored, multi-worker or none")


class TrainingInterrupted(ColorizeError):
    pass


def train(cfg: TrainConfig, models_dir: Path | None = None, log=print, callbacks=(), progress=None,
          overwrite: bool = False, scan_progress=None) -> Path:
    """Train per `cfg`, resuming from `cfg.run_dir` if it holds a checkpoint; export; return the card path.

    Resuming is exact: the data order is a pure function of (seed, step), so an interrupted and
    resumed run sees the same batches as an uninterrupted one. An export name that would shadow a
    bundled model or overwrite another run's model is refused before anything else (ExportClash), unless
    `overwrite`. `scan_progress(total) -> advance()` shows the check of the photos (one call per photo)."""
    keras.utils.set_random_seed(cfg.seed)
    card = cfg.card()
    run_dir = Path(cfg.run_dir)
    models_dir = Path(models_dir or registry.user_models_dir())
    check_export(card.name, models_dir, run_dir, overwrite)
    try:  # the loss curves (plot_losses, every epoch): say so now, not after the first epoch
        import matplotlib  # noqa: F401
    except ImportError:
        from colorize_cli.errors import MissingDependencyError

        raise MissingDependencyError("training draws its loss curves with matplotlib, which is not installed: "
                                     "pip install 'colorize-cli[train]' (or pip install matplotlib)") from None
    paths = data.list_images(cfg.data_dir)
    if not paths:
        raise ColorizeError(f"{cfg.data_dir}: no images found (looked for {', '.join(sorted(data.IMAGE_EXTENSIONS))})")
    scan = data.scan_images(paths, progress=scan_progress(len(paths)) if scan_progress else None)
    log(f"{len(scan.usable)} usable photos; skipped {len(scan.unreadable)} unreadable and {len(scan.grayscale)} black-and-white")
    if not scan.usable:  # said before anything is written: no empty run folder is left behind
        raise ColorizeError(f"{cfg.data_dir}: no colour photos to learn from ({len(scan.grayscale)} black-and-white, "
                            f"{len(scan.unreadable)} unreadable); train on a folder of colour photos")
    if cfg.val_dir:
        train_paths, val_paths = scan.usable, data.scan_images(data.list_images(cfg.val_dir)).usable
    else:
        train_paths, val_paths = data.split_validation(scan.usable, seed=cfg.seed)
    n_photos = len(train_paths)
    if cfg.balance:
        train_paths = data.balance_sources(train_paths, cfg.data_dir)
    if len(train_paths) < cfg.batch_size:
        held_out = f" after holding out {len(val_paths)} for validation" if not cfg.val_dir else ""
        raise ColorizeError(f"{cfg.data_dir}: {len(train_paths)} photos left for training{held_out}, fewer than one batch of "
                            f"{cfg.batch_size}; add photos, lower --batch-size, or give a separate --val folder")

    (run_dir / "samples").mkdir(parents=True, exist_ok=True)  # the data is usable: the run begins
    steps_per_epoch = max(1, len(train_paths) // cfg.batch_size)
    total_steps = cfg.steps or steps_per_epoch * cfg.epochs

    ab_weights = None
    if cfg.rebalance:
        if not 0 < cfg.rebalance <= 1:
            raise ColorizeError(f"--rebalance must be in (0, 1] (Zhang et al. use 0.5), got {cfg.rebalance}")
        ab_weights = data.ab_rebalancing_weights(train_paths, cfg.rebalance, seed=cfg.seed)
        log(f"L1 rebalanced by colour rarity (strength {cfg.rebalance:g}): weights {ab_weights.min():.2f}-{ab_weights.max():.1f}")

    strategy = make_strategy(cfg.strategy)
    if strategy.num_replicas_in_sync > 1:
        log(f"training on {strategy.num_replicas_in_sync} replicas ({type(strategy).__name__}); batch {cfg.batch_size} is split across them")
    if cfg.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        with strategy.scope():
            model = build_gan(card, total_steps, cfg.lr_decay, cfg.seed, ab_weights)
            checkpoint = Checkpoint(model, run_dir)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    step = 0
    if checkpoint.restore():
        step = int(model.g_optimizer.iterations.numpy())
        log(f"resuming {run_dir} at step {step} of {total_steps}")
    elif cfg.init_from:  # only on a fresh run: a resumed one already holds the fine-tuned weights
        init_generator(model.generator, cfg.init_from)
        log(f"generator initialised from {cfg.init_from}")
    write_atomic(run_dir / "config.json", (json.dumps(dataclasses.asdict(cfg), indent=2) + "\n").encode())

    val_arrays = data.load_arrays(val_paths[:64], card.input_size)
    images = None
    if cfg.cache_photos:
        started = time.time()
        images = data.cache_photos(train_paths, card.input_size)
        megabytes = sum(image.nbytes for image in {id(i): i for i in images}.values()) / 2**20
        log(f"{n_photos} training photos decoded into RAM ({megabytes:.0f} MB) in {time.time() - started:.0f} s")
    all_callbacks = make_callbacks(run_dir, model, val_arrays, card, checkpoint, cfg.checkpoint_every, log, cfg.log_every) + list(callbacks)
    if progress is not None:  # a UI callback factory: (total_steps, start_step, batch_size) -> keras Callback
        all_callbacks.append(progress(total_steps, step, cfg.batch_size))
    try:
        # one fit() per epoch (or remainder of one): each starts its data exactly at `step`
        while step < total_steps:
            epoch = step // steps_per_epoch
            n = min(steps_per_epoch * (epoch + 1), total_steps) - step
            dataset = data.make_dataset(train_paths, card.input_size, cfg.batch_size, augment=True, seed=cfg.seed,
                                        skip_batches=step, images=images)
            model.fit(dataset, initial_epoch=epoch, epochs=epoch + 1, steps_per_epoch=n, callbacks=all_callbacks, verbose=0,
                      shuffle=False)  # the tf.data pipeline shuffles itself; Keras would warn
            step = int(model.g_optimizer.iterations.numpy())
    except KeyboardInterrupt:
        step = int(model.g_optimizer.iterations.numpy())
        checkpoint.save(step)
        raise TrainingInterrupted(f"{run_dir}: interrupted at step {step}; checkpoint saved — train again with --run {run_dir} to resume "
                                 "(the default run folder is new each time)") from None
    finally:
        for callback in all_callbacks:
            if hasattr(callback, "close"):
                callback.close()
    card.training = training_record(cfg, card, run_dir, step, checkpoint.wall_time(), images=n_photos)
    return export_generator(model.generator, card, models_dir)


def training_record(cfg: TrainConfig, card, run_dir: Path, steps: int, wall_s: float, images: int | None = None) -> dict:
    """The card's `training`: how the weights were made, the same whether the run ended here or is
    exported later (`colorize export RUN`)."""
    record = {"data": str(cfg.data_dir), **({"images": images} if images is not None else {}),
              "image_size": card.input_size, "batch_size": cfg.batch_size, "steps": steps,
              "wall_time_s": round(wall_s), "hardware": hardware(), "seed": cfg.seed,
              "run": str(run_dir)}  # lets a resumed or continued run re-export its own model (see check_export)
    if cfg.balance:
        record["balanced_sources"] = True
    if cfg.init_from:
        record["initialised_from"] = cfg.init_from
    if cfg.rebalance:
        record["l1_rebalanced"] = cfg.rebalance
    return record
