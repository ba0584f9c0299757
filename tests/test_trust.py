"""No silent surprises: models never clobbered, reruns that know what made an output, every input
accounted for, a quiet and scriptable command line."""

import json
import os
import shutil
import subprocess
import sys

import cv2
import pytest
from PIL import Image
from conftest import gradient_bgr, invoke


def one_line(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(gradient_bgr(), cv2.COLOR_BGR2GRAY))
    return path


@pytest.fixture
def two_models(tiny_models_dir, tmp_path, monkeypatch):
    """'tiny' and 'tiny2': the same untrained network under two names (two models, as far as outputs know)."""
    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    card = json.loads((models / "tiny.json").read_text())
    card.update(name="tiny2", weights="tiny2.keras")
    shutil.copy(models / "tiny.keras", models / "tiny2.keras")
    (models / "tiny2.json").write_text(json.dumps(card))
    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(models))
    return models


def test_rerun_skips_only_outputs_made_with_the_same_settings(photo, two_models):
    target = photo.with_name("photo_color.png")
    assert invoke(photo, "-m", "tiny").exit_code == 0
    made = target.stat().st_mtime_ns

    same = invoke(photo, "-m", "tiny")
    assert same.exit_code == 0 and "Nothing to do" in same.output and "made by tiny" in one_line(same)

    for args, now in ((["-m", "tiny2"], "tiny2"), (["-m", "tiny", "--saturation", "2"], "saturation 2")):
        other = invoke(photo, *args)
        text = one_line(other)
        assert other.exit_code == 2, text  # never a silent skip, never exit 0 with the work not done
        assert "made otherwise: by tiny (weights" in text and "Nothing was done" in text
        assert now in text and "--overwrite" in text and "another -o" in text
        assert target.stat().st_mtime_ns == made  # untouched

    redo = invoke(photo, "-m", "tiny2", "--overwrite")
    assert redo.exit_code == 0 and "1 colorized" in one_line(redo)
    assert Image.open(target).text["Software"].startswith("Colorized by machine: colorize")
    assert "model=tiny2;" in Image.open(target).text["Software"]


def test_a_folder_rerun_counts_what_differs_and_names_what_made_it(photo_folder, two_models, tmp_path):
    out = tmp_path / "out"
    assert invoke(photo_folder, "-m", "tiny", "-o", out).exit_code == 0
    (out / "c.png").unlink()
    cv2.imwrite(str(out / "a.jpg"), gradient_bgr())  # an output someone replaced by hand
    result = invoke(photo_folder, "-m", "tiny", "-o", out)
    text = one_line(result)
    assert result.exit_code == 2
    assert "out/a.jpg exists but was made otherwise: by another program or an earlier colorize" in text
    assert not (out / "c.png").exists()  # it stopped before doing anything
    result = invoke(photo_folder, "-m", "tiny2", "-o", out)
    assert result.exit_code == 2 and "2 of 3 outputs exist" in one_line(result)


def test_json_lines_parse_and_count_done_skipped_failed(photo_folder, tmp_path):
    (photo_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (photo_folder / "sub" / "film.mp4").write_bytes(b"\0" * 64)
    (photo_folder / "scan.heic").write_bytes(b"\0" * 64)
    out = tmp_path / "out"
    result = invoke(photo_folder, "-m", "tiny", "-o", out, "--json")
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    summary = records[-1]
    assert summary["type"] == "summary" and summary["exit_code"] == 1
    assert (summary["done"], summary["skipped"], summary["failed"], summary["not_images"]) == (3, 0, 1, 2)
    assert summary["model"] == "tiny" and len(summary["weights"]) == 12
    by_status = {}
    for record in records[:-1]:
        by_status.setdefault(record["status"], []).append(record)
    assert len(by_status["done"]) == 3 and by_status["failed"][0]["input"].endswith("broken.jpg")
    assert "not a decodable image" in by_status["failed"][0]["error"]
    assert sorted(r["input"][-4:] for r in by_status["not_image"]) == [".mp4", "heic"]

    again = invoke(photo_folder, "-m", "tiny", "-o", out, "--json")
    summary = json.loads(again.stdout.splitlines()[-1])
    assert (summary["done"], summary["skipped"], summary["failed"]) == (0, 3, 1)


def test_files_that_are_not_images_are_reported(photo_folder, tmp_path):
    (photo_folder / "sub" / "film.mp4").write_bytes(b"\0" * 64)
    (photo_folder / "scan.heic").write_bytes(b"\0" * 64)
    (photo_folder / ".DS_Store").write_bytes(b"\0")  # hidden: not an input at all
    result = invoke(photo_folder, "-m", "tiny", "-o", tmp_path / "out")
    text = one_line(result)
    assert result.exit_code == 0
    assert "not colorized: 2 files that are not images (1 .heic, 1 .mp4)" in text
    assert "colorize videos by name" in text and "--verbose names them" in text
    verbose = invoke(photo_folder, "-m", "tiny", "-o", tmp_path / "out2", "-v")
    assert "not an image, not colorized:" in verbose.output and "scan.heic" in verbose.output
    quiet = invoke(photo_folder, "-m", "tiny", "-o", tmp_path / "out3", "-q")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_a_video_records_what_made_it_and_a_rerun_checks_it(tmp_path, tiny_models_dir):
    from conftest import make_clip

    from colorize_cli import video

    clip = make_clip(tmp_path / "clip.mp4", frames=6)
    assert invoke(clip, "-m", "tiny").exit_code == 0
    record = video.read_provenance(tmp_path / "clip_color.mp4")
    assert record["model"] == "tiny" and record["tool"].startswith("colorize ")
    assert "Nothing to do" in invoke(clip, "-m", "tiny").output
    other = invoke(clip, "-m", "tiny", "--saturation", "3")
    assert other.exit_code == 2 and "made otherwise: by tiny" in one_line(other)


@pytest.mark.slow  # the default recipe's two stages (one step each)
def test_default_training_does_not_change_what_colorize_uses(photo, tmp_path, monkeypatch):
    """`colorize train photos/` with every default exports under a new name: plain `colorize photo`
    still uses the bundled default, pixel for pixel."""
    from conftest import colour_photos

    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(tmp_path / "user-models"))
    monkeypatch.chdir(tmp_path)
    assert invoke(photo, "-o", tmp_path / "before.png").exit_code == 0
    photos = colour_photos(tmp_path / "photos", count=12, size=32)
    trained = invoke("train", photos, "--steps", "1", "--base-steps", "1", "--batch-size", "4", "--image-size", "32", "--width", "4", "--d-width", "4")
    assert trained.exit_code == 0, trained.output
    exported = list((tmp_path / "user-models").glob("*.keras"))
    assert len(exported) == 1 and exported[0].stem.startswith("semantic-lsgan-")
    assert (tmp_path / "runs" / exported[0].stem / "config.json").is_file()  # model name = run folder name
    assert invoke(photo, "-o", tmp_path / "after.png").exit_code == 0
    assert (cv2.imread(str(tmp_path / "before.png")) == cv2.imread(str(tmp_path / "after.png"))).all()
    listing = one_line(invoke("models"))
    assert f"{exported[0].stem} (user)" in listing and "lsgan (bundled)" in listing


def test_a_name_that_would_shadow_or_overwrite_a_model_is_refused_before_training(tmp_path, monkeypatch, tiny_models_dir):
    from colorize_cli import train

    models = tmp_path / "models"
    models.mkdir()
    card = json.loads((tiny_models_dir / "tiny.json").read_text())
    card["training"] = {"run": str(tmp_path / "runs" / "first")}
    (models / "mine.json").write_text(json.dumps({**card, "name": "mine", "weights": "mine.keras"}))
    shutil.copy(tiny_models_dir / "tiny.keras", models / "mine.keras")
    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(models))
    photos = tmp_path / "photos"
    photos.mkdir()

    shadow = invoke("train", photos, "--name", "lsgan", "--run", tmp_path / "runs" / "x")
    assert shadow.exit_code == 2
    assert "'lsgan' is the name of a bundled model" in one_line(shadow) and "--overwrite" in shadow.output
    clobber = invoke("train", photos, "--run", tmp_path / "runs" / "mine")
    assert clobber.exit_code == 2 and "mine.json already exists (from the run" in one_line(clobber)
    assert not (tmp_path / "runs").exists()  # refused before anything was made
    # the same rule in the Python API; the run that made a model may re-export it
    cfg = train.TrainConfig(data_dir=str(photos), run_dir=str(tmp_path / "runs" / "other"), export_name="mine")
    with pytest.raises(train.ExportClash):
        train.train(cfg, models_dir=models, log=lambda m: None)
    assert train.registry.export_clash("mine", models, tmp_path / "runs" / "first") is None
    into_bundled = train.registry.export_clash("lsgan", train.registry.BUNDLED_DIRS[0])  # how bundled models are made
    assert "name of a bundled model" not in into_bundled and "already exists" in into_bundled  # bench/zoo.py passes overwrite


def test_one_line_errors_for_training_options_and_run_configs(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    result = invoke("train", photos, "-m", "lsgan", "--pull-away", "0.1")
    assert result.exit_code == 2 and "--pull-away applies to ebgan, not to 'lsgan'" in one_line(result)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "lsgan", "data_dir": str(photos), "flavour": "strawberry"}))
    result = invoke("export", run)
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "config.json: unknown setting 'flavour'" in result.output


def test_models_shows_origin_files_and_data_terms():
    text = one_line(invoke("models"))
    assert "lsgan (bundled): models/lsgan.keras" in text or "lsgan (bundled):" in text
    assert "tiny (user)" in text
    assert "the code is MIT" in text and "non-commercial" in text


def test_help_shows_what_to_type_not_python_types():
    for command in ([], ["colorize"], ["eval"], ["train"], ["export"], ["models"]):
        text = invoke(*command, "--help").output
        assert not any(t in text for t in ("<bool>", "<str>", "<int", "<list", "<path>", "{")), (command, text)
    usage = invoke("colorize", "--help", prog_name="colorize", catch_exceptions=True).output.splitlines()[0]
    assert usage == "Usage: colorize [OPTIONS] [PATH]..."  # not "colorize colorize"
    top = invoke("--help").output
    assert "-o, --output PATH" in top and "--format" in top and "--json" in top


@pytest.mark.parametrize("backend", ["auto", "tf"])
def test_a_cold_run_prints_no_library_lines(photo, tmp_path, backend):
    """A real process, as a user runs it (the default backend, and TensorFlow's, whose C++ logging printed
    four lines per run): nothing from TensorFlow, absl, oneDNN or OpenCV on stderr; and colorizing does not
    need the training-only packages (made unimportable here)."""
    code = ("import sys\nsys.modules['matplotlib'] = sys.modules['tensorboard'] = None  # as if not installed\n"
            "from colorize_cli.cli import main\nsys.argv = ['colorize', sys.argv[1], '--backend', sys.argv[2]]\ntry:\n    main()\n"
            "except SystemExit as exit:\n    print('exit', exit.code)")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    done = subprocess.run([sys.executable, "-c", code, str(photo), backend], capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout.split() in ([], ["exit", "0"]), done.stdout + done.stderr
    noise = [line for line in done.stderr.splitlines() if any(w in line for w in ("absl", "oneDNN", "WARN:", "E0000", "tensorflow"))]
    assert noise == [], done.stderr
    assert "1 colorized" in done.stderr and photo.with_name("photo_color.png").is_file()
