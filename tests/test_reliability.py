"""A messy archive folder: every input is either colorized correctly or reported on one line."""

import io

import cv2
import numpy as np
from PIL import Image
from skimage import data
from typer.testing import CliRunner

from colorize_cli.cli import app


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
    result = CliRunner().invoke(app, [str(source), "-m", "tiny", "-o", str(out)], catch_exceptions=False)
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
    again = CliRunner().invoke(app, [str(source), "-m", "tiny", "-o", str(out)], catch_exceptions=False)
    assert "10 skipped" in " ".join(again.output.split()) and "3 failed" in again.output
