"""LiteRT: bundled .tflite files agree with their .keras, colorizing never needs TensorFlow, export round-trips,
and the fast colour path gives what the plain one does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from colorize_cli import colorspace, pipeline, registry, tflite_export
from colorize_cli.errors import ColorizeError
from conftest import gradient_bgr, invoke

ROOT = Path(__file__).resolve().parents[1]
# mean |Δab| (CIE ab units) allowed between a bundled .tflite and its .keras on real photos. float32 and
# float16-stored weights compute in float32 (measured 0.00-0.01); int8 changes the colour a little
# (measured 0.9-1.1 on kodak24 and bsds500_test for the int8 files shipped, see each card's tflite.check)
AGREEMENT = {"float32": 0.05, "float16": 0.05, "int8": 2.0}


def bundled_with_tflite() -> list[registry.ModelCard]:
    return [c for c in registry.list_models().values() if c.path and c.path.parent in registry.BUNDLED_DIRS and c.has_tflite]


def photo_inputs(size: int) -> np.ndarray:
    """Network inputs of three real photos, exactly as the Colorizer prepares them."""
    images = [data.astronaut()[:, :, ::-1], data.coffee()[:, :, ::-1], data.camera()]
    return np.stack([colorspace.model_input(colorspace.lightness(np.ascontiguousarray(im)), size) for im in images])


def test_every_bundled_tflite_agrees_with_its_keras():
    cards = bundled_with_tflite()
    assert {c.name for c in cards} >= {"gan", "ebgan", "wgan", "wgan-gp", "colorful"}
    total = sum(p.stat().st_size for p in registry.BUNDLED_DIRS[0].glob("*.*") if p.suffix in (".keras", ".tflite"))
    assert total < 120 * 2**20
    from colorize_cli.litert import LiteRTModel

    for card in cards:
        assert card.tflite_path.stat().st_size < 25 * 2**20, card.name
        assert registry.file_sha256(card.tflite_path) == card.tflite["sha256"], card.name
        assert card.tflite_is_current, f"{card.name}: .tflite exported from another .keras; re-export it"
        generator, _ = registry.load_generator(card.name)
        x = photo_inputs(card.input_size)
        keras_ab = generator(x, training=False).numpy()
        lite_ab = LiteRTModel(card.tflite_path)(x)
        difference = float(np.abs(keras_ab - lite_ab).mean()) * card.norm.ab_scale
        assert difference < AGREEMENT[card.tflite["precision"]], (card.name, card.tflite["precision"], difference)


def test_a_model_with_a_tflite_runs_on_litert_by_default_and_on_tf_when_asked():
    name = bundled_with_tflite()[0].name
    assert pipeline.Colorizer(name).backend == "litert"
    assert pipeline.Colorizer(name, backend="tf").backend == "tf"
    with pytest.raises(ColorizeError, match="export tiny --format tflite"):
        pipeline.Colorizer("tiny", backend="litert")  # the test model has no .tflite


def run_without_tensorflow(args: list[str], cwd: Path, blocked=("tensorflow", "keras", "skimage"),
                           bundled: Path | None = None) -> subprocess.CompletedProcess:
    """`colorize ARGS` in a fresh interpreter where `import tensorflow` (and keras, scikit-image, any other
    `blocked` package) fails, as on the light install; `bundled`: the folder that stands for the installed package's
    bundled models."""
    code = (f"import sys; sys.modules.update(dict.fromkeys({list(blocked)!r}))\n"
            + (f"from colorize_cli import registry; registry.BUNDLED_DIRS[:] = [registry.Path({str(bundled)!r})]\n"
               if bundled else "")
            + "from colorize_cli.cli import main\n"
            f"sys.argv = ['colorize'] + {args!r}\n"
            "try:\n    main()\n"
            "finally:\n    loaded = {m.split('.')[0] for m, v in sys.modules.items() if v is not None}\n"
            f"    assert not loaded & {set(blocked)!r}, loaded & {set(blocked)!r}\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_photo_video_models_and_help_work_without_tensorflow(tmp_path):
    from conftest import make_clip

    name = bundled_with_tflite()[0].name
    cv2.imwrite(str(tmp_path / "photo.png"), data.camera()[::4, ::4])
    make_clip(tmp_path / "film.mp4", frames=12)
    for args in (["photo.png", "-m", name], ["film.mp4", "-m", name], ["models"], ["--help"]):
        result = run_without_tensorflow(args, tmp_path)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert cv2.imread(str(tmp_path / "photo_color.png")).shape[:2] == (128, 128)
    assert (tmp_path / "film_color.mp4").stat().st_size > 0


def test_photo_models_and_eval_work_without_tensorflow_and_matplotlib(tmp_path):
    """The base install has none of these (matplotlib is in the [train] extra, scikit-image in [test]): a photo with a hint given by a CSS
    colour name, `colorize models`, and `colorize eval` of a bundled model, which skips its plot and says
    in one line what to install."""
    name = bundled_with_tflite()[0].name
    blocked = ("tensorflow", "keras", "skimage", "matplotlib")
    cv2.imwrite(str(tmp_path / "photo.png"), data.camera()[::4, ::4])
    (tmp_path / "truth").mkdir()
    for i, image in enumerate((data.astronaut(), data.coffee())):
        cv2.imwrite(str(tmp_path / "truth" / f"{i}.png"), cv2.resize(image[:, :, ::-1], (96, 64), interpolation=cv2.INTER_AREA))
    for args in (["photo.png", "-m", name, "--hint", "20,20,firebrick"], ["models"]):
        result = run_without_tensorflow(args, tmp_path, blocked)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert cv2.imread(str(tmp_path / "photo_color.png")).shape[:2] == (128, 128)
    result = run_without_tensorflow(["eval", "truth", "-m", name, "-o", "report"], tmp_path, blocked)
    assert result.returncode == 0, (result.stdout, result.stderr)
    notes = [line for line in result.stderr.splitlines() if "matplotlib" in line]
    assert len(notes) == 1 and "skipped" in notes[0] and "pip install 'colorize-cli[train]'" in notes[0], result.stderr
    report = tmp_path / "report"
    assert {"metrics.json", "metrics.csv", "report.md", "grid_truth_01.png"} <= {p.name for p in report.iterdir()}
    assert not (report / "psnr_vs_colorfulness.png").exists() and "matplotlib" in (report / "report.md").read_text()


def wheel_models(folder: Path, names=(registry.DEFAULT_MODEL,)) -> Path:
    """What `pip install .` puts in the package's bundled_models (pyproject's package-data): each bundled
    model's card and .tflite, not its .keras."""
    folder.mkdir()
    for name in names:
        card = registry.get_card(name)
        for path in (card.path, card.tflite_path):
            shutil.copy(path, folder)
    return folder


def test_the_light_install_runs_bundled_models_from_their_tflite_and_says_where_the_keras_is(tmp_path):
    bundled = wheel_models(tmp_path / "bundled_models")
    card = registry.get_card(registry.DEFAULT_MODEL)
    cv2.imwrite(str(tmp_path / "photo.png"), data.camera()[::4, ::4])
    result = run_without_tensorflow(["photo.png"], tmp_path, bundled=bundled)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert cv2.imread(str(tmp_path / "photo_color.png")).shape[:2] == (128, 128)
    listing = run_without_tensorflow(["models"], tmp_path, bundled=bundled)
    assert listing.returncode == 0, listing.stderr
    line = next(line for line in listing.stdout.splitlines() if line.strip().startswith(f"{card.name} (bundled)"))
    assert "LiteRT" in line and f"no {card.weights} in this install" in line, listing.stdout
    # the Keras path needs the .keras: one line that says where it is and how to get it
    result = run_without_tensorflow(["photo.png", "--backend", "tf", "-o", "tf.png"], tmp_path, bundled=bundled)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert card.weights in lines[0] and "pip install -e '.[train]'" in lines[0], lines[0]
    assert not (tmp_path / "tf.png").exists()


def test_a_model_without_its_keras_runs_on_litert_even_where_tensorflow_sees_a_gpu(tmp_path, monkeypatch):
    name = registry.DEFAULT_MODEL
    monkeypatch.setattr(pipeline, "tensorflow_sees_gpu", lambda: True)
    assert pipeline.choose_backend(name)[0] == "tf"  # the source checkout has the .keras: the GPU runs it
    monkeypatch.setattr(registry, "BUNDLED_DIRS", [wheel_models(tmp_path / "bundled_models")])
    assert pipeline.choose_backend(name)[0] == "litert"
    assert registry.get_card(name).runnable and not registry.get_card(name).has_weights


def test_train_without_tensorflow_says_what_to_install_in_one_line(tmp_path):
    (tmp_path / "photos").mkdir()
    cv2.imwrite(str(tmp_path / "photos" / "a.png"), gradient_bgr())
    result = run_without_tensorflow(["train", "photos", "--steps", "1"], tmp_path)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'colorize-cli[train]'" in lines[0], result.stderr


@pytest.fixture
def own_models(tiny_models_dir, tmp_path, monkeypatch):
    """A private copy of the 'tiny' test model (exports write beside it) and folders of photos."""
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(models))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        cv2.imwrite(str(photos / f"{i}.png"), np.roll(gradient_bgr(48, 64), 7 * i, axis=1))
    return models, photos


def test_export_int8_round_trips_through_the_colorizer_and_a_stale_tflite_is_not_used(own_models):
    models, photos = own_models
    result = invoke("export", "tiny", "--format", "tflite", "--int8", "--calibrate", photos)
    assert result.exit_code == 0, result.output
    card = registry.get_card("tiny")
    assert card.tflite_path == models / "tiny.tflite" and card.tflite["precision"] == "int8"
    assert card.tflite["calibration"]["images"] == 6 and card.tflite["bytes"] == card.tflite_path.stat().st_size
    assert card.tflite["keras_sha256"] == card.sha256 and "not checked" in card.tflite["check"]
    colorizer = pipeline.Colorizer("tiny")
    assert colorizer.backend == "litert" and colorizer._run.precision == "int8"
    out = colorizer.colorize(data.astronaut())
    assert out.shape == data.astronaut().shape and out.dtype == np.uint8
    # the int8 network is close to the float one it came from, as the check measures it on photos
    reference = pipeline.Colorizer("tiny", backend="tf")
    row = tflite_export.check(reference, colorizer, [photos])["photos"]
    assert row["images"] == 6 and row["keras"]["psnr"] > 0 and row["mean_abs_dab"] < 2.0
    assert row["psnr_delta"] == pytest.approx(row["tflite"]["psnr"] - row["keras"]["psnr"], abs=1e-3)
    # the .keras is retrained (another checksum) without re-exporting the .tflite: the .keras is used
    stale = json.loads((models / "tiny.json").read_text())
    stale["tflite"]["keras_sha256"] = "0" * 64
    (models / "tiny.json").write_text(json.dumps(stale))
    assert not registry.get_card("tiny").tflite_is_current
    assert pipeline.Colorizer("tiny").backend == "tf"


def test_the_int8_rule_needs_both_psnr_and_colourfulness_on_every_folder():
    def row(psnr_delta, colour_delta):
        return {"psnr_delta": psnr_delta, "colorfulness_ratio_delta": colour_delta}

    assert tflite_export.keeps_quality({"a": row(-0.09, 0.009), "b": row(0.05, -0.01)})[0]
    assert not tflite_export.keeps_quality({"a": row(-0.09, 0.009), "b": row(-0.11, 0.0)})[0]
    ok, reason = tflite_export.keeps_quality({"a": row(0.0, 0.02)})
    assert not ok and "a: colourfulness +2.00 points" in reason


def test_int8_export_needs_calibration_photos(own_models):
    result = invoke("export", "tiny", "--format", "tflite", "--int8", catch_exceptions=True)
    assert result.exit_code == 1 and "--calibrate" in result.output


def test_scratch_reuse_gives_the_plain_merge_for_any_sequence_of_sizes():
    """The fast path reuses per-thread memory: each image must come out as if computed alone."""
    rng = np.random.default_rng(3)
    images = [gradient_bgr(90, 120), cv2.resize(data.camera(), (200, 150)), gradient_bgr(30, 40), gradient_bgr(90, 120, np.uint16)]
    for image in images + images[::-1]:
        lightness = colorspace.lightness(image)
        ab = rng.uniform(-0.4, 0.4, (16, 16, 2)).astype(np.float32)
        if image.dtype == np.uint8:  # the 8-bit path, in fresh memory
            plain = colorspace.merge_ab_8bit(lightness, ab)
        else:
            plain = colorspace.finish_like(colorspace.merge_ab(lightness, ab), image)
        np.testing.assert_array_equal(colorspace.render(image, lightness, ab), plain)


def test_two_interpreters_on_alternating_batches_give_the_single_interpreters_output_in_order():
    """A photo folder or a small video runs two interpreters at once (one per core): the results must be the
    one-interpreter results, image for image and in input order, a failing image reported in its place."""
    camera = data.camera()
    images = [np.ascontiguousarray(camera[i * 20: i * 20 + 48, i * 24: i * 24 + 64]) for i in range(11)]

    def load(i):
        if i == 5:
            raise ValueError("unreadable")
        return images[i]

    results = {}
    for count in (1, 2):
        colorizer = pipeline.Colorizer(registry.DEFAULT_MODEL, batch_size=2, interpreters=count, backend="litert")
        results[count] = list(colorizer.run(range(len(images)), load=load))
        assert colorizer._run._built == count  # the second interpreter ran batches beside the first
    for count, run in results.items():
        assert [job for job, _, _ in run] == list(range(len(images))), count
        assert [type(error).__name__ for _, _, error in run if error] == ["ValueError"] and run[5][2] is not None
    for (_, one, _), (_, two, _) in zip(results[1], results[2]):
        assert (one is None and two is None) or np.array_equal(one, two)


def test_a_video_through_two_interpreters_is_the_one_interpreter_video_frame_for_frame():
    """Smoothing carries colour from frame to frame, so the predictions must reach it in order whichever
    interpreter made them."""
    import io

    from colorize_cli import video

    camera = data.camera()
    frames = np.stack([camera[i * 8: i * 8 + 36, i * 10: i * 10 + 64] for i in range(13)])

    class Collect:
        def __init__(self):
            self.frames = []

        def write(self, frame, pts):
            self.frames.append(frame)

    outputs = {}
    for count in (1, 2):
        colorizer = pipeline.Colorizer(registry.DEFAULT_MODEL, batch_size=2, interpreters=count, backend="litert")
        sink = Collect()
        result = video.colorize_video(colorizer, video.RawSource(io.BytesIO(frames.tobytes()), 64, 36, 25), sink, smooth=True)
        assert result.frames == len(frames)
        outputs[count] = sink.frames
    assert len(outputs[2]) == len(frames) and all(np.array_equal(a, b) for a, b in zip(outputs[1], outputs[2]))


def test_images_over_the_network_bound_size_keep_one_batch_in_the_network(monkeypatch):
    """Where the full-resolution work outweighs the network (large photos, 720p video and up), a second
    interpreter would only compete with it: it is not even built."""
    monkeypatch.setattr(pipeline, "NETWORK_BOUND_PIXELS", 48 * 64 - 1)
    colorizer = pipeline.Colorizer(registry.DEFAULT_MODEL, batch_size=2, interpreters=2, backend="litert")
    images = [np.ascontiguousarray(data.camera()[i * 20: i * 20 + 48, :64]) for i in range(8)]
    outputs = [out for _, out, error in colorizer.run(images, load=lambda im: im) if error is None]
    assert len(outputs) == 8 and colorizer._run._built == 1
