from pathlib import Path

import cv2
import numpy as np
import pytest

from colorize_cli import gan, registry, train
from conftest import colour_photos, invoke


def weights_of(model):
    return [np.array(v) for v in model.trainable_variables]


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_one_step_per_objective(name):
    card = registry.BUILTIN[name]
    card = registry.ModelCard(**{**card.__dict__, "input_size": 32, "width": 4, "d_width": 4})
    model = train.build_gan(card, total_steps=10, decay_fraction=0.5)
    if model.objective.warmup_critic_steps:  # keep the test fast: the warm-up schedule is tested separately
        model.objective = model.objective.replace(warmup_critic_steps=2)
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (8, 32, 32, 1)).astype(np.float32)
    ab = rng.uniform(-0.5, 0.5, (8, 32, 32, 2)).astype(np.float32)
    g_before = weights_of(model.generator)
    d_before = weights_of(model.discriminator) if model.discriminator is not None else None
    history = model.fit(l, ab, batch_size=4, epochs=1, verbose=0).history
    expected = {"g_loss", "l1"} | ({"d_loss", "g_adv"} if d_before is not None else set())
    assert expected <= set(history)
    assert all(np.isfinite(v[-1]) for v in history.values())
    assert any(not np.allclose(a, b) for a, b in zip(g_before, weights_of(model.generator)))
    if d_before is not None:
        assert any(not np.allclose(a, b) for a, b in zip(d_before, weights_of(model.discriminator)))
    if model.objective.clip:
        assert all(np.abs(w).max() <= model.objective.clip + 1e-7 for w in weights_of(model.discriminator))


def test_objectives_are_data_not_code():
    assert gan.OBJECTIVES["wgan"].critic_steps == 5 and gan.OBJECTIVES["wgan"].clip == 0.01
    assert gan.OBJECTIVES["wgan-gp"].gp_weight == 10 and gan.OBJECTIVES["wgan-gp"].d_norm == "layer"
    assert gan.OBJECTIVES["lsgan"].replace(label_smoothing=0.1).label_smoothing == 0.1


def test_train_command_exports_a_usable_model(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(tmp_path / "models"))
    photos = colour_photos(tmp_path / "photos")
    result = invoke("train", photos, "--model", "lsgan", "--steps", "4", "--batch-size", "4", "--image-size", "32",
                    "--width", "4", "--d-width", "4", "--run", tmp_path / "run", "--name", "mini")
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    assert (run / "metrics.csv").read_text().startswith("epoch,step")
    assert list((run / "samples").glob("epoch_*.png"))
    card = registry.get_card("mini")
    assert card.has_weights and card.objective == "lsgan" and card.training["steps"] == 4
    assert card.training["wall_time_s"] >= 0 and card.training["hardware"]
    # exporting the run again (e.g. under another name) records the same training facts
    again = invoke("export", run, "--name", "mini-again")
    assert again.exit_code == 0, again.output
    record = registry.get_card("mini-again").training
    same = lambda training: {k: v for k, v in training.items() if k not in ("wall_time_s", "images")}  # noqa: E731
    assert same(record) == same(card.training)
    assert 0 <= record["wall_time_s"] <= card.training["wall_time_s"] + 1
    out = invoke(photos / "p00.jpg", "-m", "mini", "-o", tmp_path / "c.jpg")
    assert out.exit_code == 0 and cv2.imread(str(tmp_path / "c.jpg")).shape == (40, 40, 3)


def test_train_rejects_unknown_recipe(tmp_path):
    result = invoke("train", tmp_path, "--model", "lsgn", catch_exceptions=True)
    assert result.exit_code == 2 and "did you mean 'lsgan'" in result.output


@pytest.mark.slow
def test_step_log_holds_window_means_of_the_epoch(tmp_path):
    """steps.csv rows are means over their own window: averaging the windows gives the epoch mean."""
    import csv

    photos = colour_photos(tmp_path / "photos")
    run = tmp_path / "run"
    train.train(small_config(photos, run, 4, log_every=2), models_dir=tmp_path / "m", log=lambda m: None)
    windows = list(csv.DictReader(open(run / "steps.csv")))
    epoch = next(csv.DictReader(open(run / "metrics.csv")))
    assert [int(w["step"]) for w in windows] == [2, 4]
    for key in ("g_loss", "l1", "d_loss"):
        assert np.mean([float(w[key]) for w in windows]) == pytest.approx(float(epoch[key]), rel=1e-5)
    assert float(windows[0]["l1"]) != pytest.approx(float(windows[1]["l1"]))  # windows, not running means


def small_config(photos, run, steps, **overrides):
    fields = dict(model="lsgan", batch_size=4, image_size=32, width=4, d_width=4, checkpoint_every=1, seed=3)
    return train.TrainConfig(data_dir=str(photos), run_dir=str(run), steps=steps, **{**fields, **overrides})


@pytest.mark.slow
def test_interrupted_run_resumes_exactly(tmp_path):
    """Ctrl-C after 2 of 4 steps saves a checkpoint; rerunning continues at step 2 and ends with the
    same weights as a run that was never interrupted."""
    from colorize_cli._keras import keras, tf

    tf.config.experimental.enable_op_determinism()
    photos = colour_photos(tmp_path / "photos")
    whole = train.train(small_config(photos, tmp_path / "whole", 4), models_dir=tmp_path / "m1", log=lambda m: None)

    class StopAfterTwo(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.g_optimizer.iterations.numpy()) == 2:
                raise KeyboardInterrupt

    cfg = small_config(photos, tmp_path / "split", 4)
    with pytest.raises(train.TrainingInterrupted, match="interrupted at step 2; checkpoint saved"):
        train.train(cfg, models_dir=tmp_path / "m2", log=lambda m: None, callbacks=[StopAfterTwo()])
    messages = []
    resumed = train.train(cfg, models_dir=tmp_path / "m2", log=messages.append)
    assert any("resuming" in m and "at step 2 of 4" in m for m in messages)
    a = registry.load_keras_model(whole.with_suffix(".keras"))
    b = registry.load_keras_model(resumed.with_suffix(".keras"))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_wgan_critic_schedule_warm_up_then_n_critic():
    card = registry.ModelCard(**{**registry.BUILTIN["pix2pix-wgan"].__dict__, "input_size": 32, "width": 4, "d_width": 4})
    model = train.build_gan(card, total_steps=10, decay_fraction=0.0)
    model.objective = model.objective.replace(warmup_critic_steps=7, warmup_until=1, warmup_every=3)
    data = np.zeros((4, 32, 32, 1), np.float32), np.zeros((4, 32, 32, 2), np.float32)
    counts = []
    for _ in range(4):
        model.fit(*data, batch_size=4, epochs=1, verbose=0)
        counts.append(int(model.d_optimizer.iterations.numpy()))
    # step 0: warm-up (7 critic updates); steps 1, 2: n_critic = 5; step 3 (every 3rd): warm-up again
    assert np.diff([0] + counts).tolist() == [7, 5, 5, 7]
    assert model.objective.critic_updates(4) == 24  # what the critic's lr schedule is sized by


def test_critic_lr_schedule_spans_every_critic_update():
    """WGAN's warm-up multiplies critic updates (50 generator steps: 25 x 100 + 25 x 5 = 2625), so a
    schedule sized by n_critic alone would reach lr 0 after 250 of them and freeze the critic."""
    wgan = gan.OBJECTIVES["wgan"]
    assert wgan.critic_updates(50) == 25 * 100 + 25 * 5
    assert wgan.critic_updates(600) == 26 * 100 + 574 * 5  # steps 0-24 and 500 warm up
    assert gan.OBJECTIVES["wgan-gp"].critic_updates(50) == 250 and gan.OBJECTIVES["lsgan"].critic_updates(50) == 50
    card = registry.ModelCard(**{**registry.BUILTIN["pix2pix-wgan"].__dict__, "input_size": 32, "width": 4, "d_width": 4})
    model = train.build_gan(card, total_steps=50, decay_fraction=0.5)
    schedule = model.d_optimizer.learning_rate if callable(model.d_optimizer.learning_rate) else model.d_optimizer._learning_rate
    assert float(schedule(2624)) > 0 and float(schedule(2625)) == 0


MIRRORED = """
import os, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tests.conftest import colour_photos
from colorize_cli import train
from pathlib import Path
tmp = Path(sys.argv[1])
cfg = train.TrainConfig(model="lsgan", data_dir=str(colour_photos(tmp / "photos")), run_dir=str(tmp / "run"), steps=2,
                        batch_size=4, image_size=32, width=4, d_width=4, strategy="mirrored")
log = []
train.train(cfg, models_dir=tmp / "models", log=log.append)
print([m for m in log if "replicas" in m])
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path)], capture_output=True, text=True, cwd=root, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "training on 2 replicas (MirroredStrategy)" in out.stdout
    assert (tmp_path / "models" / "run.keras").is_file()


@pytest.mark.slow
def test_sigkill_mid_run_resumes(tmp_path):
    """A run killed with SIGKILL right after a checkpoint resumes from it and finishes."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    photos = colour_photos(tmp_path / "photos")
    env = {**os.environ, "COLORIZE_MODELS_DIR": str(tmp_path / "models")}
    cmd = [sys.executable, "-m", "colorize_cli", "train", str(photos), "-r", "pix2pix-lsgan", "--steps", "40", "--batch-size", "4", "--image-size", "32",
           "--width", "4", "--d-width", "4", "--run", str(tmp_path / "run"), "--checkpoint-every", "2"]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    index = tmp_path / "run" / "checkpoints" / "checkpoint"
    deadline = time.time() + 240
    while not index.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert index.exists(), "no checkpoint was written before the kill"
    result = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming" in result.stderr and "of 40" in result.stderr
    assert registry.ModelCard.from_file(tmp_path / "models" / "run.json").training["steps"] == 40


def test_balance_sources_draws_each_folder_about_equally(tmp_path):
    from pathlib import Path

    from colorize_cli import data

    paths = [tmp_path / "faces" / f"{i}.jpg" for i in range(90)] + [tmp_path / "scenes" / f"{i}.jpg" for i in range(30)] \
        + [tmp_path / "loose.jpg"]
    balanced = data.balance_sources(paths, tmp_path)
    counts = {name: sum(Path(p).relative_to(tmp_path).parts[0] == name for p in balanced) for name in ("faces", "scenes")}
    assert counts == {"faces": 90, "scenes": 90}  # 30 scenes x 3
    assert balanced.count(tmp_path / "loose.jpg") == 90  # root-level photos are one source
    assert balanced == data.balance_sources(list(reversed(paths)), tmp_path)  # order-independent: resumable


def test_init_from_fine_tunes_an_existing_model(tmp_path):
    """--init starts the generator from a model's weights; a different architecture is refused with the fix."""
    photos = colour_photos(tmp_path / "photos")
    base = train.train(small_config(photos, tmp_path / "base", 2), models_dir=tmp_path / "m", log=lambda m: None)
    start = registry.load_keras_model(base.with_suffix(".keras")).get_weights()
    messages = []
    tuned = train.train(small_config(photos, tmp_path / "tuned", 1, init_from=str(base.with_suffix(".keras")), lr=0.0),
                        models_dir=tmp_path / "m", log=messages.append)
    assert any("initialised from" in m for m in messages)
    # lr 0: the weights that come out are the ones that went in (batch-norm statistics aside)
    out = registry.load_keras_model(tuned.with_suffix(".keras"))
    for w, a, b in zip(out.weights, start, out.get_weights()):
        if "moving" not in w.path:
            np.testing.assert_array_equal(a, b)
    assert registry.ModelCard.from_file(tuned).training["initialised_from"] == str(base.with_suffix(".keras"))
    with pytest.raises(train.ColorizeError, match="differs from this run's; use the same --recipe, --width"):
        train.train(small_config(photos, tmp_path / "wide", 1, init_from=str(base.with_suffix(".keras")), width=8),
                    models_dir=tmp_path / "m", log=lambda m: None)


def test_photo_cache_shrinks_large_photos_keeps_small_ones_and_feeds_the_same_crops(tmp_path):
    """Training decodes each photo once (data.cache_photos): big photos are area-shrunk to 1.7x the training
    size on their short side, small ones kept as they are, repeated paths share one array, and a centre crop
    from the cache is the one from the file up to resampling."""
    from colorize_cli import data

    big, small = tmp_path / "big.jpg", tmp_path / "small.png"
    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8), (0, 0), 6)
    cv2.imwrite(str(big), photo)
    cv2.imwrite(str(small), photo[:40, :50])
    images = data.cache_photos([big, small, big], size=64)
    assert min(images[0].shape[:2]) == round(data.CACHE_SCALE * 64) and images[0].shape[2] == 3
    assert images[1].shape == (40, 50, 3)
    assert images[0] is images[2]
    l_file, ab_file = data.load_pair(big, 64, 0, augment=False)
    l_cache, ab_cache = data.crop_pair(images[0], 64, 0, augment=False)
    assert np.abs(l_file - l_cache).mean() < 0.01 and np.abs(ab_file - ab_cache).mean() < 0.01


def test_cached_dataset_is_a_pure_function_of_seed_and_position(tmp_path):
    """The RAM-cached pipeline keeps the trainer's resume rule: batch n is the same whether reached by
    running or by skip_batches=n, and another seed gives other batches."""
    from colorize_cli import data

    paths = data.list_images(colour_photos(tmp_path / "photos", count=10))
    images = data.cache_photos(paths, 32)

    def batches(seed, skip, n):
        ds = data.make_dataset(paths, 32, 4, augment=True, seed=seed, skip_batches=skip, images=images)
        return [b[1].numpy() for b, _ in zip(ds, range(n))]

    run = batches(0, 0, 3)
    np.testing.assert_array_equal(run[2], batches(0, 2, 1)[0])
    assert not np.array_equal(run[0], batches(1, 0, 1)[0])


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def zoo_script():
    """recipes/zoo.py as a module (the script that made the bundled models), to compare its definitions with the CLI's."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("zoo_script", ROOT / "recipes" / "zoo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def network_and_losses(card):
    """A card's recipe, less where its files live (the zoo read the encoder from a .tflite, the CLI from a bundled model)."""
    skip = {"name", "description", "arch_options", "pretrained", "path"}
    return {k: v for k, v in card.__dict__.items() if k not in skip}, card.arch_options.get("train_encoder_from")


def test_default_train_plan_is_the_bundled_defaults_first_stages(tmp_path):
    """`colorize train DIR` plans the bundled lsgan's network and first stages, the zoo's own definitions (semantic-l1,
    then STAGES['lsgan-s0']): L1 on the frozen ImageNet encoder, then LSGAN + 100*L1 from it; the encoder's weights
    from a bundled model whose encoder stayed ImageNet's (not lsgan, fine-tuned)."""
    from colorize_cli import stages
    from colorize_cli import zoo as package_zoo
    from colorize_cli.zoo import BASES

    base, last = stages.plan(registry.DEFAULT_RECIPE, tmp_path / "photos", tmp_path / "run", "mine")
    assert base.run_dir == str(tmp_path / "run" / "stages" / "semantic-l1") and base.init_from is None
    assert last.run_dir == str(tmp_path / "run") and last.export_name == "mine"
    assert last.init_from == str(tmp_path / "run" / "stages" / "semantic-l1.keras")
    base_card, last_card = base.card(), last.card()
    for card in (base_card, last_card):
        assert (card.arch, card.input_size, card.width, card.arch_options["train_encoder_from"]) == ("semantic", 192, 16, 0)
        encoder = registry.ModelCard.from_file(Path(card.arch_options["encoder"]).with_suffix(".json"))
        assert encoder.path.parent in registry.BUNDLED_DIRS and encoder.name != "lsgan"
        assert encoder.arch == "semantic" and encoder.arch_options["train_encoder_from"] == 0
        assert card.pretrained["file"] == "mobilenet_v2_1.0_224_quant.tflite"  # the origin is recorded still
    assert (base_card.objective, base_card.l1, base_card.optimizer["lr"], base.steps) == ("regression", 1.0, 5e-4, 6000)
    assert (last_card.objective, last_card.adv, last_card.l1, last_card.optimizer["lr"], last.steps) == ("lsgan", 1.0, 100.0, 1e-4, 1000)
    zoo = zoo_script()  # its encoder is a file in ../shared, which a test does not need: the CLI's default stands in
    made_base, made_last = (train.TrainConfig(**{**stages.train_fields(stage), "encoder": None})
                            for stage in (BASES["semantic-l1"], zoo.STAGES["lsgan-s0"]))
    assert network_and_losses(made_base.card()) == network_and_losses(base_card)
    assert network_and_losses(made_last.card()) == network_and_losses(last_card)
    fields = lambda cfg: {k: v for k, v in cfg.__dict__.items() if k not in ("model", "data_dir", "run_dir", "export_name", "init_from")}  # noqa: E731
    assert fields(base) == fields(made_base) and fields(last) == fields(made_last)
    assert zoo.STAGES["lsgan-s0"]["base"] == "semantic-l1" and zoo.train_base is package_zoo.train_base  # the same runner


def test_train_without_a_recipe_runs_the_default_plan_and_old_names_keep_their_meaning(tmp_path, monkeypatch):
    from colorize_cli import stages

    planned = []
    monkeypatch.setattr(stages, "train_plan", lambda plan, **kw: planned.append(plan) or tmp_path / "m" / "x.json")
    (tmp_path / "photos").mkdir()
    result = invoke("train", tmp_path / "photos", "--run", tmp_path / "run", "--models-dir", tmp_path / "m", "--steps", "7")
    assert result.exit_code == 0, result.output
    base, last = planned[-1]
    assert last.model == "semantic-lsgan" and last.steps == 7 and base.steps == 6000  # --steps: the last stage's
    assert invoke("train", tmp_path / "photos", "--run", tmp_path / "run2", "--models-dir", tmp_path / "m",
                  "--base-steps", "5").exit_code == 0
    assert planned[-1][0].steps == 5 and planned[-1][1].steps == 1000
    old = invoke("train", tmp_path / "photos", "-r", "lsgan", "--run", tmp_path / "run3", "--models-dir", tmp_path / "m")
    assert old.exit_code == 0 and "note: recipe 'lsgan' is now 'pix2pix-lsgan'" in old.output
    (only,) = planned[-1]
    assert only.model == "pix2pix-lsgan" and only.card().arch == "unet"


def test_train_init_takes_the_network_from_the_model_and_refuses_contradictions(tmp_path, monkeypatch):
    """--init lsgan: architecture, size, width and encoder come from the bundled model's card and .keras (no .tflite
    anywhere); an option that contradicts them is one line, exit 2, naming both values."""
    from colorize_cli import stages, tflite_weights
    from conftest import one_line_error

    def no_tflite(path):
        raise AssertionError(f"read a .tflite: {path}")

    monkeypatch.setattr(tflite_weights, "read_ops", no_tflite)
    (tmp_path / "photos").mkdir()
    (only,) = stages.plan(registry.DEFAULT_RECIPE, tmp_path / "photos", tmp_path / "run", init="lsgan")
    card = only.card()
    bundled = registry.get_card("lsgan")
    assert (card.arch, card.input_size, card.width) == (bundled.arch, bundled.input_size, bundled.width) == ("semantic", 192, 16)
    assert card.arch_options == {"encoder": str(bundled.weights_path), "train_encoder_from": bundled.arch_options["train_encoder_from"]}
    assert only.init_from == "lsgan" and card.objective == "lsgan"
    (by_path,) = stages.plan(registry.DEFAULT_RECIPE, tmp_path / "photos", tmp_path / "run", init=str(bundled.weights_path))
    assert by_path.card().arch_options == card.arch_options and (by_path.image_size, by_path.width) == (192, 16)
    for option, needle in ((["--arch", "unet"], "--arch unet contradicts --init lsgan (arch semantic)"),
                           (["--width", "32"], "--width 32 contradicts --init lsgan (width 16)"),
                           (["--image-size", "256"], "--image-size 256 contradicts --init lsgan (image-size 192)"),
                           (["--encoder", "x.tflite"], "--encoder x.tflite with --init lsgan"),
                           (["--base-steps", "5"], "--base-steps 5: --init lsgan has no first stages")):
        result = invoke("train", tmp_path / "photos", "--init", "lsgan", *option, "--run", tmp_path / "r")
        one_line_error(result, needle)


@pytest.mark.slow
def test_train_init_a_bundled_semantic_model_needs_no_tflite(tmp_path, monkeypatch):
    """Fine-tuning the bundled default from the CLI: one step at its own size, no encoder file given or read."""
    from colorize_cli import tflite_weights

    def no_tflite(path):
        raise AssertionError(f"read a .tflite: {path}")

    monkeypatch.setattr(tflite_weights, "read_ops", no_tflite)
    photos = colour_photos(tmp_path / "photos", count=6)
    result = invoke("train", photos, "--init", "lsgan", "--steps", "1", "--batch-size", "2", "--run", tmp_path / "run",
                    "--name", "tuned", "--models-dir", tmp_path / "m")
    assert result.exit_code == 0, result.output
    tuned = registry.ModelCard.from_file(tmp_path / "m" / "tuned.json")
    bundled = registry.get_card("lsgan")
    assert (tuned.arch, tuned.input_size, tuned.width) == (bundled.arch, bundled.input_size, bundled.width)
    assert tuned.training["initialised_from"] == "lsgan" and tuned.training["steps"] == 1
    generator = registry.load_keras_model(tmp_path / "m" / "tuned.keras")
    assert generator.input_shape == (None, 192, 192, 1)
    assert [w.shape for w in generator.weights] == [w.shape for w in registry.load_keras_model(bundled.weights_path).weights]


@pytest.mark.slow
def test_default_recipe_trains_its_two_stages_from_a_bundled_encoder(tmp_path, monkeypatch):
    """The default recipe end to end at a tiny size: the L1 stage trains and is exported in RUN/stages, the LSGAN
    stage starts from it; no .tflite is read."""
    from colorize_cli import tflite_weights

    monkeypatch.setattr(tflite_weights, "read_ops", lambda path: pytest.fail(f"read a .tflite: {path}"))
    photos = colour_photos(tmp_path / "photos", count=6)
    result = invoke("train", photos, "--steps", "1", "--base-steps", "1", "--batch-size", "2", "--image-size", "32",
                    "--width", "4", "--d-width", "4", "--run", tmp_path / "run", "--name", "tiny-default",
                    "--models-dir", tmp_path / "m")
    assert result.exit_code == 0, result.output
    assert "stage 1 of 2: semantic-l1" in result.output and "stage 2 of 2: tiny-default" in result.output
    base = registry.ModelCard.from_file(tmp_path / "run" / "stages" / "semantic-l1.json")
    made = registry.ModelCard.from_file(tmp_path / "m" / "tiny-default.json")
    assert (base.objective, made.objective, made.arch, made.input_size, made.width) == ("regression", "lsgan", "semantic", 32, 4)
    assert made.training["initialised_from"] == str(tmp_path / "run" / "stages" / "semantic-l1.keras")
