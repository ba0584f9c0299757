"""A messy archive folder: every input is either colorized correctly or reported on one line."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from conftest import invoke


def build_messy_folder(root):
    root.mkdir()
    photo = Image.fromarray(data.astronaut()).resize((64, 48))
    photo.save(root / "good.jpg")
    photo.convert("L").save(root / "name with spaces ñ é.png")
    photo.convert("CMYK").save(root / "cmyk.jpg")
    photo.convert("P").save(root / "palette.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    photo.save(root / "rotated.jpg", exif=exif)
    photo.save(root / "animated.gif", save_all=True, append_images=[photo.rotate(90)])
    cv2.imwrite(str(root / "deep16.tif"), (cv2.resize(data.astronaut(), (64, 48)).astype(np.uint16) * 257))
    Image.new("RGB", (1, 1), (90, 90, 90)).save(root / "one_pixel.png")
    Image.new("L", (300, 2), 128).save(root / "thin.png")
    photo.save(root / "actually_a_png.jpg", format="PNG")  # extension lies
    (root / "folder.jpg").mkdir()  # a directory named like an image: walked, holds nothing
    (root / "empty.jpg").write_bytes(b"")
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")
    (root / "truncated.jpg").write_bytes(buffer.getvalue()[:300])
    (root / "notes.png").write_text("this is a text file with an image extension")
    return root


def test_messy_folder_colorizes_the_good_and_reports_the_bad(tmp_path):
    source = build_messy_folder(tmp_path / "archive")
    out = tmp_path / "out"
    result = invoke(source, "-m", "tiny", "-o", out)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "empty.jpg: empty file (0 bytes)" in text
    assert "notes.png: not a decodable image" in text
    assert "truncated.jpg: not a decodable image" in text
    assert "10 colorized" in text and "3 failed" in text
    written = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert sorted(written) == sorted(["good.jpg", "name with spaces ñ é.png", "cmyk.jpg", "palette.png", "rotated.jpg",
                                      "animated.png", "deep16.tif", "one_pixel.png", "thin.png", "actually_a_png.jpg"])
    read = lambda name: cv2.imdecode(np.fromfile(written[name], np.uint8), cv2.IMREAD_UNCHANGED)
    assert read("rotated.jpg").shape == (64, 48, 3)  # EXIF orientation applied, then saved upright
    assert read("deep16.tif").dtype == np.uint16 and read("deep16.tif").shape == (48, 64, 3)
    assert read("animated.png").shape[:2] == (48, 64)  # first frame (GIF decodes with alpha, which is kept)
    assert read("one_pixel.png").shape == (1, 1, 3) and read("thin.png").shape == (2, 300, 3)
    assert not list(out.rglob(".*part"))  # no partial files
    again = invoke(source, "-m", "tiny", "-o", out)
    assert "10 skipped" in " ".join(again.output.split()) and "3 failed" in again.output


def many_photos(root, count):
    root.mkdir()
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    for i in range(count):
        crop = astronaut[i * 8: i * 8 + 96, i * 6: i * 6 + 128]
        cv2.imwrite(str(root / f"p{i:03d}.png"), crop)
    return root


def test_full_disk_stops_cleanly_and_a_rerun_finishes(tmp_path, monkeypatch):
    """ENOSPC in the middle of the 4th write: the run stops with one clear line, completed files are whole,
    the half-written one is gone, and rerunning (space freed) completes the rest."""
    import errno
    import os

    from colorize_cli import files

    source, out = many_photos(tmp_path / "in", 12), tmp_path / "out"
    real_fdopen, writes = os.fdopen, []

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, payload):
            writes.append(1)
            if len(writes) >= 4:
                self.f.write(payload[: len(payload) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(payload)

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: FullDisk(real_fdopen(fd, mode)))
    result = invoke(source, "-m", "tiny", "-o", out, "--batch-size", "2")
    text = " ".join(result.output.split())
    assert result.exit_code == 1
    assert f"{out}: cannot write there (No space left on device); free some space" in text
    assert "stopped:" in text and text.count("failed:") == 1
    assert not list(out.rglob(".*part"))
    done = sorted(p.name for p in out.iterdir())
    assert 3 <= len(done) < 12
    assert all(cv2.imread(str(out / name)).shape == (96, 128, 3) for name in done)  # complete files only

    monkeypatch.setattr(files.os, "fdopen", real_fdopen)
    again = invoke(source, "-m", "tiny", "-o", out)
    assert again.exit_code == 0 and f"{len(done)} skipped" in " ".join(again.output.split())
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in source.iterdir())


def test_read_only_output_folder_is_one_clear_error(tmp_path, monkeypatch):
    import errno
    import os

    from colorize_cli import files

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)  # root ignores chmod, so simulate the mount
    source, out = many_photos(tmp_path / "in", 5), tmp_path / "out"
    result = invoke(source, "-m", "tiny", "-o", out)
    text = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "cannot write there (Read-only file system); choose a writable -o folder" in text
    assert text.count("failed:") == 1 and "0 colorized" in text
    assert not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.slow
def test_folder_killed_mid_run_resumes_to_the_same_outputs(tmp_path):
    """SIGKILL a folder run part-way; rerunning the same command gives exactly the files of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    source = many_photos(tmp_path / "in", 40)
    whole, split = tmp_path / "whole", tmp_path / "split"
    command = [sys.executable, "-m", "colorize_cli", str(source), "-m", "tiny", "--batch-size", "2", "-o"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(command + [str(whole)], check=True, env=env, capture_output=True)

    process = subprocess.Popen(command + [str(split)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(split.glob("p*.png"))) < 5:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = sorted(p.name for p in split.glob("p*.png"))
    assert 5 <= len(partial) < 40, "the kill should land mid-run"
    for name in partial:  # whatever the kill left is complete
        assert cv2.imread(str(split / name)).shape == (96, 128, 3)

    resumed = subprocess.run(command + [str(split)], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{len(partial)} skipped" in " ".join((resumed.stdout + resumed.stderr).split())
    names = sorted(p.name for p in whole.iterdir())
    assert sorted(p.name for p in split.iterdir() if not p.name.endswith(".part")) == names
    for name in names:
        a, b = cv2.imread(str(whole / name)).astype(int), cv2.imread(str(split / name)).astype(int)
        assert np.abs(a - b).max() <= 1
