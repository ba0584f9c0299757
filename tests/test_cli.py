import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import gradient_bgr, invoke


@pytest.mark.parametrize("args", [["{p}", "-m", "tiny"], ["-m", "tiny", "{p}"], ["--model", "tiny", "{p}"],
                                  ["colorize", "-m", "tiny", "{p}"]])
def test_default_command_routing(photo, args):
    result = invoke(*[a.format(p=photo) for a in args])
    assert result.exit_code == 0, result.output
    out = cv2.imread(str(photo.with_name("x_color.jpg")))
    assert out.shape == (48, 64, 3)


def test_file_named_like_a_subcommand_is_colorized(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").write_bytes(cv2.imencode(".png", gradient_bgr())[1].tobytes())
    assert invoke("-m", "tiny", "models").exit_code == 0
    assert (tmp_path / "models_color.png").is_file()
    (tmp_path / "models_color.png").unlink()
    assert invoke("--", "models", "-m", "tiny").exit_code == 0
    assert (tmp_path / "models_color.png").is_file()


def test_models_lists_registry_and_marks_weights():
    result = invoke("models")
    assert result.exit_code == 0
    for name in ("colorful", "gan", "lsgan", "ebgan", "wgan", "wgan-gp", "tiny"):
        assert name in result.output


def test_output_keeps_size_and_is_written_beside_input(photo):
    assert invoke(photo, "-m", "tiny").exit_code == 0
    assert cv2.imread(str(photo.with_name("x_color.jpg"))).shape[:2] == (48, 64)
    assert cv2.imread(str(photo), cv2.IMREAD_UNCHANGED).ndim == 2  # input untouched


def test_explicit_output_file_and_format(photo, tmp_path):
    assert invoke(photo, "-m", "tiny", "-o", tmp_path / "out" / "y.png").exit_code == 0
    assert (tmp_path / "out" / "y.png").is_file()
    assert invoke(photo, "-m", "tiny", "--format", "png").exit_code == 0
    assert photo.with_name("x_color.png").is_file()


def test_folder_is_mirrored_and_rerun_skips(photo_folder, tmp_path):
    out = tmp_path / "out"
    result = invoke(photo_folder, "-m", "tiny", "-o", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a.jpg", "c.png", "sub/b.jpg"]
    assert cv2.imread(str(out / "sub" / "b.jpg")).shape == (40, 30, 3)
    mtime = (out / "a.jpg").stat().st_mtime_ns
    again = invoke(photo_folder, "-m", "tiny", "-o", out)
    assert again.exit_code == 0 and "all 3 outputs exist" in again.output
    assert (out / "a.jpg").stat().st_mtime_ns == mtime
    assert invoke(photo_folder, "-m", "tiny", "-o", out, "--overwrite").exit_code == 0
    assert (out / "a.jpg").stat().st_mtime_ns != mtime


def test_default_folder_output_is_folder_color(photo_folder):
    assert invoke(photo_folder, "-m", "tiny").exit_code == 0
    assert (photo_folder.with_name("archive_color") / "sub" / "b.jpg").is_file()


def test_corrupt_file_is_reported_and_the_rest_complete(photo_folder, tmp_path):
    (photo_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (photo_folder / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    result = invoke(photo_folder, "-m", "tiny", "-o", out)
    assert result.exit_code == 1
    assert "broken.jpg: not a decodable image" in result.output
    assert "empty.png: empty file (0 bytes)" in result.output
    assert "3 colorized" in result.output and "2 failed" in result.output
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["a.jpg", "b.jpg", "c.png"]  # no partial files


def test_alpha_and_16_bit_are_kept(tmp_path):
    bgra16 = np.dstack([gradient_bgr(30, 40, np.uint16), np.full((30, 40), 1234, np.uint16)])
    cv2.imwrite(str(tmp_path / "deep.png"), bgra16)
    assert invoke(tmp_path / "deep.png", "-m", "tiny").exit_code == 0
    out = cv2.imread(str(tmp_path / "deep_color.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (30, 40, 4) and out.dtype == np.uint16
    assert (out[:, :, 3] == 1234).all()


def test_missing_path_is_a_usage_error_with_hint(tmp_path):
    result = invoke(tmp_path / "nope.jpg")
    assert result.exit_code == 2 and "nope.jpg: no such file or folder" in result.output
    assert "did you mean the 'models' command?" in invoke("modles").output


def test_unknown_model_lists_close_matches(photo):
    result = invoke(photo, "-m", "lsgn")
    assert result.exit_code == 2
    assert "unknown model 'lsgn': did you mean 'lsgan'" in result.output
    assert "semantic-lsgan" not in result.output and "pix2pix" not in result.output  # recipes are not models to run


@pytest.mark.parametrize("args, expected", [
    (["-m", "lsgam"], "unknown model 'lsgam': did you mean 'lsgan'"),
    (["-m", "missing.keras"], "missing.keras: model file not found; check the path, or give a model name"),
    (["-m", "missing.tflite"], "missing.tflite: model file not found"),
    (["-m", "semantic-lsgan"], "'semantic-lsgan' is a training recipe, not a model: train one with"),
    (["--backend", "foo"], "'foo' is not one of 'auto', 'litert', 'tf'"),
    (["--engine", "foo"], "'foo' is not one of 'local', 'ray'"),
    (["--camera", "0"], "--camera 0 and "),
])
def test_usage_errors_exit_2_in_one_line(photo, args, expected):
    result = invoke(photo, *args)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output and not photo.with_name("x_color.jpg").exists()
    assert "colorize colorize" not in result.output  # the default command is typed as `colorize PATH`


def test_eval_unknown_model_is_a_usage_error(photo_folder, tmp_path):
    result = invoke("eval", photo_folder, "-m", "lsgam", "--out", tmp_path / "report")
    assert result.exit_code == 2 and "unknown model 'lsgam'" in result.output
    assert not (tmp_path / "report").exists()


def test_messages_are_printed_literally(tmp_path):
    """Brackets in file names and library messages are text, not rich markup."""
    bad = tmp_path / "[bold]notes[train].jpg"
    bad.write_text("not a photo")
    result = invoke(bad, "-m", "tiny")
    assert result.exit_code == 1
    assert "[bold]notes[train].jpg: not a decodable image" in result.output
    from colorize_cli import cli

    with cli.console.capture() as captured:
        cli.say(("Error: ", "red"), "pip install 'colorize-cli[train]' [bold]now[/bold]")
        cli.console.print("a train log line [train] [bold]x[/bold]")  # what train's log and the tables go through
    assert captured.get().splitlines() == ["Error: pip install 'colorize-cli[train]' [bold]now[/bold]",
                                           "a train log line [train] [bold]x[/bold]"]


def test_output_may_not_overwrite_input(photo):
    result = invoke(photo, "-m", "tiny", "-o", photo)
    assert result.exit_code == 2 and "would overwrite an input" in result.output


def test_model_with_lambda_layer_is_refused(photo, tmp_path):
    from colorize_cli._keras import keras

    inputs = keras.Input((32, 32, 1))
    outputs = keras.layers.Lambda(lambda t: keras.ops.concatenate([t, t], axis=-1))(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "evil.keras")
    result = invoke(photo, "-m", tmp_path / "evil.keras")
    assert result.exit_code == 1
    assert "evil.keras: refused to load: the file contains executable code" in result.output
    assert not photo.with_name("x_color.jpg").exists()


def test_user_model_file_is_usable(photo, tiny_models_dir):
    assert invoke(photo, "-m", tiny_models_dir / "tiny.keras").exit_code == 0


def test_help_does_not_import_tensorflow():
    code = ("import sys; from typer.testing import CliRunner; from colorize_cli.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "assert 'Colorize' in r.output; print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_every_command_has_help():
    for command in ("colorize", "models"):
        result = invoke(command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    import struct
    import zlib

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    # a 1 kB PNG that declares 40000 x 40000 gray pixels
    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * 1000)
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    result = invoke(tmp_path / "bomb.png", "-m", "tiny")
    assert result.exit_code == 1
    assert "bomb.png: 40000x40000 is 1600 megapixels, over the 250 MP limit" in result.output
    assert not (tmp_path / "bomb_color.png").exists()


@pytest.mark.parametrize("by", ["name", "path"])
def test_weights_not_matching_their_card_are_refused(photo, tiny_models_dir, tmp_path, monkeypatch, by):
    import json
    import shutil

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(tiny_models_dir / "tiny.keras", models / "swapped.keras")
    card = json.loads((tiny_models_dir / "tiny.json").read_text())
    card.update(name="swapped", weights="swapped.keras", sha256="0" * 64)
    (models / "swapped.json").write_text(json.dumps(card))
    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(models))
    result = invoke(photo, "-m", "swapped" if by == "name" else str(models / "swapped.keras"))
    assert result.exit_code == 1
    assert "swapped.keras: checksum does not match its card swapped.json" in " ".join(result.output.split())


def test_saturation_scales_the_predicted_colour(tmp_path):
    """--saturation 0 gives the gray photo back; above 1 is more vivid; default: the card's calibrated value."""
    from skimage import data

    from colorize_cli import Colorizer, colorspace, registry

    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY))
    assert invoke(path, "--saturation", "0", "-o", tmp_path / "gray.png").exit_code == 0
    lab = colorspace.bgr_to_lab(cv2.imread(str(tmp_path / "gray.png")))
    assert np.abs(lab[..., 1:]).max() < 1.5  # 8-bit rounding only

    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)

    def chroma(saturation):
        lab = colorspace.rgb_to_lab(Colorizer(saturation=saturation).colorize(gray))
        return np.hypot(lab[..., 1], lab[..., 2]).mean()

    assert chroma(1.5) > 1.3 * chroma(1.0)
    assert Colorizer().saturation == registry.get_card(registry.DEFAULT_MODEL).saturation
    assert invoke(path, "--saturation", "9").exit_code == 2  # out of range: a usage error


def test_outputs_get_ordinary_file_permissions(photo):
    """The atomic write goes through a private temporary file; the result must not stay private."""
    import os

    umask = os.umask(0)
    os.umask(umask)
    assert invoke(photo, "-m", "tiny").exit_code == 0
    assert os.stat(photo.with_name("x_color.jpg")).st_mode & 0o777 == 0o666 & ~umask  # as open() would make it, not 0600


def test_a_lone_bad_file_exits_1_in_a_real_process(tmp_path):
    """A fresh process whose only input fails exits 1 (it once aborted with 134 in native teardown)."""
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    result = subprocess.run([sys.executable, "-m", "colorize_cli", str(bad)], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr[-500:]
    assert "notes.jpg" in result.stdout + result.stderr


@pytest.mark.parametrize("fmt, magic", [(None, b"\x89PNG"), ("jpg", b"\xff\xd8"), ("webp", b"RIFF")])
def test_dash_output_writes_the_encoded_photo_to_stdout(photo, fmt, magic):
    from colorize_cli import metadata

    result = invoke(photo, "-m", "tiny", "-o", "-", *(["--format", fmt] if fmt else []))
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(magic)
    decoded = cv2.imdecode(np.frombuffer(result.stdout_bytes, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape == (48, 64, 3)
    import io

    assert metadata.read_provenance(io.BytesIO(result.stdout_bytes))["model"] == "tiny"
    assert not (photo.parent / "-").exists() and not photo.with_name("x_color.jpg").exists()


def test_dash_output_is_refused_for_a_folder(photo_folder):
    result = invoke(photo_folder, "-m", "tiny", "-o", "-")
    assert result.exit_code == 2 and "-o - writes one photo" in result.output
    assert not (photo_folder.parent / "-").exists()


@pytest.mark.parametrize("name", ["q.xyz", "q.heic"])
def test_unknown_output_extension_is_refused(photo, tmp_path, name):
    result = invoke(photo, "-m", "tiny", "-o", tmp_path / name)
    assert result.exit_code == 2
    assert f"unknown image extension {name[1:]} (jpg, png, tif, webp)" in result.output
    assert not (tmp_path / name).exists()


def test_output_folder_inside_the_input_is_not_an_input(photo_folder):
    out = photo_folder / "out"
    first = invoke(photo_folder, "-m", "tiny", "-o", out)
    assert first.exit_code == 0, first.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a.jpg", "c.png", "sub/b.jpg"]
    again = invoke(photo_folder, "-m", "tiny", "-o", out)
    assert again.exit_code == 0, again.output
    assert "all 3 outputs exist" in again.output
    assert not (out / "out").exists()


def test_training_on_black_and_white_photos_stops_before_writing(tmp_path):
    photos = tmp_path / "bw"
    photos.mkdir()
    for i in range(3):
        cv2.imwrite(str(photos / f"p{i}.jpg"), cv2.cvtColor(gradient_bgr(40, 40), cv2.COLOR_BGR2GRAY))
    result = invoke("train", photos, "--run", tmp_path / "runs" / "x", "--name", "bw-test", "--models-dir", tmp_path / "m")
    assert result.exit_code == 1
    assert "no colour photos to learn from (3 black-and-white, 0 unreadable)" in result.output
    assert not (tmp_path / "runs").exists() and not (tmp_path / "m").exists()


@pytest.mark.slow
def test_the_printed_command_after_training_works(tmp_path, monkeypatch):
    """`colorize train ... --models-dir M --name x` ends with a `colorize -m ... PHOTO` line that works as printed."""
    import shlex

    from conftest import colour_photos

    monkeypatch.chdir(tmp_path)
    photos = colour_photos(tmp_path / "photos", count=8)
    result = invoke("train", photos, "-r", "pix2pix-lsgan", "--steps", "2", "--batch-size", "4", "--image-size", "32", "--width", "4",
                    "--d-width", "4", "--run", "runs/x", "--name", "x", "--models-dir", "M")
    assert result.exit_code == 0, result.output
    printed = result.output.split("use it with `")[1].split("`")[0]
    assert printed == "colorize -m M/x.keras PHOTO"
    args = shlex.split(printed)[1:-1] + [str(photos / "p00.jpg"), "-o", "out.jpg"]
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert cv2.imread("out.jpg").shape == (40, 40, 3)


def test_eval_records_what_it_measured_and_keeps_an_earlier_report(tmp_path, tiny_models_dir):
    import hashlib
    import json

    from colorize_cli import __version__

    folder = tmp_path / "colour"
    folder.mkdir()
    for i, (h, w) in enumerate([(48, 64), (40, 30)]):
        cv2.imwrite(str(folder / f"p{i}.png"), gradient_bgr(h, w))
    out = tmp_path / "report"
    first = invoke("eval", folder, "-m", "tiny", "--out", out)
    assert first.exit_code == 0, first.output
    record = json.loads((out / "metrics.json").read_text())
    assert record["tool"] == f"colorize {__version__}"
    tiny = record["models"]["tiny"]
    assert tiny["weights_sha256"] == hashlib.sha256((tiny_models_dir / "tiny.keras").read_bytes()).hexdigest()
    assert tiny["saturation"] == 1.0 and tiny["backend"] == "tf"
    written = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert not [name for name in written if name.startswith(".")]  # no temporary files left
    again = invoke("eval", folder, "-m", "tiny", "--out", out)
    assert again.exit_code == 2
    assert "holds an earlier report (metrics.json, metrics.csv, report.md, …); add --overwrite" in " ".join(again.output.split())
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == written
    replaced = invoke("eval", folder, "-m", "tiny", "--out", out, "--overwrite")
    assert replaced.exit_code == 0 and "replacing the earlier report" in replaced.output


def test_every_option_is_described_and_grouped():
    import typer

    from colorize_cli.cli import app

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        for param in command.params:
            if param.param_type_name == "option" and "--help" not in param.opts:
                assert (param.help or "").strip(), f"colorize {name} {param.opts[0]} has no help"
    help_text = invoke("colorize", "--help").output
    for panel in ("Input and output:", "Model:", "Video and streams:", "Hints:", "Engines:", "Messages:"):
        assert panel in help_text
    assert help_text.index("Input and output:") < help_text.index("Model:") < help_text.index("Engines:")
    assert "--backend [auto|litert|tf]" in help_text and "--engine [local|ray]" in help_text
    train_help = " ".join(invoke("train", "--help").output.split())
    for shown in ("-r, --recipe [semantic-lsgan|colorful-l1|pix2pix-gan|pix2pix-lsgan|pix2pix-ebgan|pix2pix-wgan|pix2pix-wgan-gp]", "--arch [unet|colorful|semantic]", "--objective [regression|gan|lsgan|ebgan|wgan|wgan-gp]",
                  "--strategy [auto|mirrored|multi-worker|none]", "--batch-size N Photos per training step", "--seed N Seed of"):
        assert shown in train_help


def test_listed_choices_are_the_librarys():
    from typing import get_args

    from colorize_cli import cli, gan, networks, pipeline, registry

    assert get_args(cli.Backend) == pipeline.BACKENDS
    assert set(get_args(cli.Objective)) == set(gan.OBJECTIVES)
    assert set(get_args(cli.Arch)) == set(networks.GENERATORS)
    assert set(registry.BUILTIN) == set(cli.RECIPE_NAMES) and registry.OLD_RECIPE_NAMES == cli.OLD_RECIPE_NAMES


def test_models_json_lists_every_model_once(tiny_models_dir):
    import json

    result = invoke("models", "--json")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {r["name"]: r for r in records}
    assert len(by_name) == len(records) and {"lsgan", "tiny"} <= set(by_name)
    assert by_name["tiny"]["file"] == str(tiny_models_dir / "tiny.keras") and by_name["tiny"]["origin"] == "user"
    assert by_name["lsgan"]["default"] is True


def test_quality_follows_the_input_or_the_option(tmp_path):
    from colorize_cli import metadata
    from PIL import Image

    gray = cv2.cvtColor(gradient_bgr(), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "q60.jpg"), gray, [cv2.IMWRITE_JPEG_QUALITY, 60])
    cv2.imwrite(str(tmp_path / "p.png"), gray)
    cv2.imwrite(str(tmp_path / "lossless.webp"), gray, [cv2.IMWRITE_WEBP_QUALITY, 101])

    def quality(path):
        with Image.open(path) as image:
            return metadata.jpeg_quality(image.quantization)

    assert quality(tmp_path / "q60.jpg") == 60
    assert invoke(tmp_path / "q60.jpg", "-m", "tiny").exit_code == 0
    assert quality(tmp_path / "q60_color.jpg") == 60  # the input's quality
    assert invoke(tmp_path / "p.png", "-m", "tiny", "--format", "jpg").exit_code == 0
    assert quality(tmp_path / "p_color.jpg") == 95  # nothing to follow: 95
    assert invoke(tmp_path / "q60.jpg", "-m", "tiny", "--quality", "30", "-o", tmp_path / "q30.jpg").exit_code == 0
    assert quality(tmp_path / "q30.jpg") == 30
    assert invoke(tmp_path / "lossless.webp", "-m", "tiny").exit_code == 0
    assert metadata._webp_is_lossless(tmp_path / "lossless_color.webp")
    assert invoke(tmp_path / "p.png", "-m", "tiny", "--format", "webp", "--quality", "50").exit_code == 0
    assert not metadata._webp_is_lossless(tmp_path / "p_color.webp")
    assert invoke(tmp_path / "p.png", "--quality", "0").exit_code == 2


def test_train_recipe_option_and_its_old_spelling(tmp_path):
    """-r/--recipe names the recipe; the old -m/--model still works with a one-line note (checked before any training)."""
    assert "did you mean 'lsgan'" in invoke("train", tmp_path, "-r", "lsgn").output
    old = invoke("train", tmp_path / "missing", "-m", "wgan")
    assert old.exit_code == 2 and "note: train -m/--model is now -r/--recipe" in old.output and "missing: not a folder" in old.output
    both = invoke("train", tmp_path, "-r", "gan", "-m", "wgan")
    assert both.exit_code == 2 and "give one recipe" in both.output


def test_train_config_file_refuses_unknown_settings(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "c.json").write_text('{"model": "wgan", "stpes": 3}')
    result = invoke("train", tmp_path / "photos", "--config", tmp_path / "c.json")
    assert result.exit_code == 2 and "--config" in result.output and "unknown setting 'stpes'" in result.output
    (tmp_path / "c.json").write_text("[1, 2]")
    assert invoke("train", tmp_path / "photos", "--config", tmp_path / "c.json").exit_code == 2


@pytest.mark.slow
def test_train_runs_a_saved_config_with_the_given_options_over_it(tmp_path):
    import json

    from conftest import colour_photos

    photos = colour_photos(tmp_path / "photos", count=8)
    saved = {"model": "wgan", "steps": 5, "batch_size": 4, "image_size": 32, "width": 4, "d_width": 4, "seed": 7,
             "objective_options": {"clip": 0.02}, "data_dir": "/elsewhere", "run_dir": "runs/old"}
    (tmp_path / "c.json").write_text(json.dumps(saved))
    result = invoke("train", photos, "--config", tmp_path / "c.json", "--steps", "2", "--run", tmp_path / "run", "--name", "cfg",
                    "--models-dir", tmp_path / "m")
    assert result.exit_code == 0, result.output
    ran = json.loads((tmp_path / "run" / "config.json").read_text())
    assert ran["model"] == "pix2pix-wgan" and ran["steps"] == 2 and ran["width"] == 4 and ran["seed"] == 7  # saved, except --steps
    assert ran["objective_options"] == {"clip": 0.02} and ran["data_dir"] == str(photos) and ran["run_dir"] == str(tmp_path / "run")


def test_force_is_the_old_spelling_of_overwrite(tmp_path):
    """train and export say --overwrite, as colorize and eval do; --force still works, with a one-line note."""
    (tmp_path / "photos").mkdir()
    result = invoke("train", tmp_path / "photos", "--name", "lsgan", "--run", tmp_path / "runs" / "x", "--force")
    assert "note: --force is now --overwrite" in result.output
    assert "is the name of a bundled model" not in result.output  # --force did what --overwrite does
    refused = invoke("train", tmp_path / "photos", "--name", "lsgan", "--run", tmp_path / "runs" / "x")
    assert refused.exit_code == 2 and "add --overwrite to do it anyway" in " ".join(refused.output.split())


def test_ctrl_c_stops_a_folder_and_says_what_was_done(tmp_path):
    """Ctrl-C in a real process: exit 130 at once, every file written is whole, a rerun does the rest."""
    import signal
    import time

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        cv2.imwrite(str(folder / f"p{i:02d}.jpg"), cv2.cvtColor(gradient_bgr(300, 400), cv2.COLOR_BGR2GRAY))
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "colorize_cli", str(folder), "-o", str(out), "-m", "lsgan", "--batch-size", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out.is_dir() and len(list(out.glob("*.jpg"))) >= 2):
        assert time.time() < deadline and run.poll() is None, run.communicate()[1][-2000:]
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    began = time.perf_counter()
    _, stderr = run.communicate(timeout=30)
    assert time.perf_counter() - began < 5 and run.returncode == 130, stderr[-2000:]
    written = sorted(out.glob("*.jpg"))
    assert f"Ctrl-C: {len(written)} colorized" in stderr and not [p for p in out.iterdir() if p.name.startswith(".")]
    assert all(cv2.imread(str(p)) is not None for p in written)
    if len(written) < 60:
        again = invoke(folder, "-m", "lsgan", "-o", out)
        assert again.exit_code == 0 and f"{60 - len(written)} colorized, {len(written)} skipped" in again.output
