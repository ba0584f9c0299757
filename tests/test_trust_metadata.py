"""Outputs keep the input's metadata and record what made them (no model involved: fast)."""

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, PngImagePlugin

from colorize_cli import media, metadata
from conftest import invoke

pytestmark = pytest.mark.light  # no TensorFlow: see conftest.py

PROVENANCE = {"tool": "colorize 9.9", "model": "lsgan", "weights": "10a87f384af3", "saturation": 1.15}
CAPTION = "Grand-mère à la plage, 1962".encode("utf-8")  # EXIF ASCII tags carry UTF-8 bytes in practice


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def camera_exif(orientation: int) -> bytes:
    """EXIF as a camera or scanner writes it: orientation, caption, make, a date, a GPS position, a maker
    note and a thumbnail-free layout (built with Pillow, read back by our own parser)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010E] = CAPTION
    exif[0x010F] = "Nikon"
    exif[0x8769] = {0x9003: "1962:07:14 10:00:00", 0x927C: b"private maker note" * 4}
    exif[0x8825] = {1: "N", 2: (52.0, 30.0, 0.0)}
    return exif.tobytes()


def landscape(height=30, width=40) -> np.ndarray:
    """An asymmetric gray-ish picture, so that any wrong turn or flip shows."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 4] = 200
    image[: height // 3, :, 1] = 90
    return image


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp"])
def test_provenance_round_trips(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    media.write_image(path, landscape(), None, PROVENANCE)
    record = metadata.read_provenance(path)
    assert record == {"tool": "colorize 9.9", "model": "lsgan", "weights": "10a87f384af3", "saturation": "1.15"}
    assert metadata.same_settings(record, {**PROVENANCE, "tool": "colorize 10.0"})  # the version alone is no difference
    assert not metadata.same_settings(record, {**PROVENANCE, "saturation": 1.2})
    software = Image.open(path).getexif()[0x0131]  # what exiftool shows as Software
    assert software.startswith("Colorized by machine: colorize 9.9; model=lsgan")
    assert np.asarray(Image.open(path).convert("RGB")).shape == (30, 40, 3)  # still a valid image


@pytest.mark.parametrize("out_suffix", [".jpg", ".png", ".tif", ".webp"])
def test_exif_icc_and_dpi_survive_and_the_photo_is_upright(tmp_path, out_suffix):
    source = tmp_path / "scan.jpg"
    Image.fromarray(landscape()).save(source, exif=camera_exif(6), icc_profile=srgb_profile(), dpi=(300, 300), quality=95)
    image, meta = media.read_photo(source)
    assert image.shape[:2] == (40, 30)  # orientation 6 applied to the pixels
    target = tmp_path / f"colour{out_suffix}"
    media.write_image(target, image, meta, PROVENANCE)

    out = Image.open(target)
    exif = out.getexif()
    assert out.size == (30, 40) and exif[0x0112] == 1  # upright, and says so
    assert exif[0x010E].encode("latin-1") == CAPTION  # the caption's bytes, untouched
    assert exif[0x010F] == "Nikon"
    assert exif.get_ifd(0x8769)[0x9003] == "1962:07:14 10:00:00"
    assert 0x927C not in exif.get_ifd(0x8769)  # the camera-private maker note is not carried (its offsets break)
    assert exif.get_ifd(0x8825)[1] == "N"
    assert out.info["icc_profile"] == srgb_profile()
    assert float(exif[0x011A]) == 300 and exif[0x0128] == 2  # XResolution in inches, in the EXIF of every format
    if out_suffix != ".webp":  # WebP has no resolution field of its own
        assert out.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_png_text_and_tiff_description_are_carried(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "Family picnic")
    info.add_itxt("Author", "Zoë")
    Image.fromarray(landscape()).save(tmp_path / "in.png", pnginfo=info)
    image, meta = media.read_photo(tmp_path / "in.png")
    media.write_image(tmp_path / "out.png", image, meta, PROVENANCE)
    out = Image.open(tmp_path / "out.png")
    assert out.text["Title"] == "Family picnic" and out.text["Author"] == "Zoë"
    assert out.text["Software"].startswith("Colorized by machine")

    tiff_exif = Image.Exif()
    tiff_exif[0x010E] = "scan of a print, 1930s"
    Image.fromarray(landscape()).save(tmp_path / "in.tif", exif=tiff_exif)
    image, meta = media.read_photo(tmp_path / "in.tif")
    for suffix in (".tif", ".jpg"):
        media.write_image(tmp_path / f"out{suffix}", image, meta, PROVENANCE)
        assert Image.open(tmp_path / f"out{suffix}").getexif()[0x010E] == "scan of a print, 1930s"


def test_sixteen_bit_tiff_keeps_its_depth_with_metadata(tmp_path):
    deep = (np.random.default_rng(0).integers(0, 65535, (20, 24, 3))).astype(np.uint16)
    meta = metadata.Metadata(icc=srgb_profile(), dpi=(600.0, 600.0))
    media.write_image(tmp_path / "deep.tif", deep, meta, PROVENANCE)
    assert (media.read_image(tmp_path / "deep.tif") == deep).all()
    assert Image.open(tmp_path / "deep.tif").info["icc_profile"] == srgb_profile()
    assert metadata.read_provenance(tmp_path / "deep.tif")["model"] == "lsgan"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_applied_as_viewers_do(tmp_path, orientation):
    """PNG and WebP are not turned by OpenCV: ours must match Pillow's exif_transpose for all 8 values."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    for suffix in (".png", ".webp"):
        path = tmp_path / f"o{suffix}"
        Image.fromarray(landscape()[:, :, 0]).save(path, exif=exif, **({"lossless": True} if suffix == ".webp" else {}))
        expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("L"))
        got = media.read_image(path)
        got = got if got.ndim == 2 else got[:, :, 0]
        assert got.shape == expected.shape and (got == expected).all(), (suffix, orientation)


def test_formats_without_room_for_metadata_are_written_plainly(tmp_path):
    media.write_image(tmp_path / "x.bmp", landscape(), metadata.Metadata(dpi=(300.0, 300.0)), PROVENANCE)
    assert media.read_image(tmp_path / "x.bmp").shape == (30, 40, 3)
    assert metadata.read_provenance(tmp_path / "x.bmp") is None


EXIFTOOL = __import__("shutil").which("exiftool")
ARCHIVE_TAGS = ["-IPTC:Caption-Abstract=Grand-mère à la plage", "-IPTC:Keywords=beach", "-IPTC:Keywords=1962",
                "-IPTC:Credit=Musée de Bretagne", "-IPTC:DateCreated=1962:07:14", "-IPTC:CodedCharacterSet=UTF8",
                "-XMP-dc:Description=Plage de Dinard", "-XMP-dc:Subject=family"]


def exiftool(*args) -> dict:
    import json
    import subprocess

    result = subprocess.run([EXIFTOOL, "-j", "-G1", "-charset", "iptc=UTF8", *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)[0]


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (apt-get install libimage-exiftool-perl)")
@pytest.mark.parametrize("suffix, resolution", [(".jpg", ["-XResolution=300", "-YResolution=300", "-ResolutionUnit=inches"]),
                                                (".tif", ["-XResolution=400", "-YResolution=400", "-ResolutionUnit=cm"])])
def test_archive_metadata_written_by_exiftool_survives(tmp_path, suffix, resolution):
    """A catalogued scan (IPTC caption, keywords, credit, date; XMP; its resolution and unit, as exiftool
    writes them) keeps all of it through colorize, read back by exiftool."""
    import subprocess

    source = tmp_path / f"scan{suffix}"
    Image.fromarray(landscape()).convert("L").save(source)
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-codedcharacterset=utf8", *ARCHIVE_TAGS, *resolution, str(source)], check=True)
    before = exiftool(source)
    result = invoke(source)  # the bundled default, on LiteRT: what the light install runs
    assert result.exit_code == 0, result.output
    after = exiftool(source.with_name(f"scan_color{suffix}"))
    for key in ("IPTC:Caption-Abstract", "IPTC:Keywords", "IPTC:Credit", "IPTC:DateCreated", "XMP-dc:Description", "XMP-dc:Subject"):
        assert after.get(key) == before[key], key
    assert after["IPTC:Caption-Abstract"] == "Grand-mère à la plage"
    for key in ("XResolution", "YResolution", "ResolutionUnit"):
        assert after[f"IFD0:{key}"] == before[f"IFD0:{key}"], key
    assert after["IFD0:Software"].startswith("Colorized by machine: colorize")
