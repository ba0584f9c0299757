"""Image files in and out: decoding, format constraints, output planning and atomic writes.

Only this module touches the file system for photos. Arrays are OpenCV-ordered (gray, BGR, BGRA),
uint8 or uint16, exactly as decoded."""

from __future__ import annotations

import errno
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from colorize_cli.data import IMAGE_EXTENSIONS
from colorize_cli.errors import ColorizeError, OutputError

# formats whose encoders accept 16 bits / an alpha channel (OpenCV's writers)
SIXTEEN_BIT = {".png", ".tif", ".tiff"}
ALPHA = {".png", ".tif", ".tiff", ".webp"}
JPEG_QUALITY = 95


class ImageReadError(ColorizeError):
    pass


MAX_PIXELS = 250_000_000  # refuse larger images before decoding (a 40000x40000 "bomb" would need 4.8 GB)


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding the pixels, or None if unknown."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # our own limit applies, not Pillow's warning threshold
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # corrupt metadata is reported by the decoder, once
            with Image.open(path) as image:
                return image.size
    except Exception:
        return None


def check_pixels(path: Path, max_pixels: int | None = MAX_PIXELS) -> None:
    """Refuse (ImageReadError) a file whose header declares more than `max_pixels` pixels; reads the header only."""
    if max_pixels and Path(path).is_file():
        size = image_size(path)
        if size and size[0] * size[1] > max_pixels:
            raise ImageReadError(f"{path}: {size[0]}x{size[1]} is {size[0] * size[1] / 1e6:.0f} megapixels, over the "
                                 f"{max_pixels / 1e6:.0f} MP limit (a corrupt or hostile file?); raise --max-pixels if it is real")


def read_image(path: Path, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Decode an image file keeping bit depth and alpha (JPEGs get their EXIF orientation applied).
    Images declaring more than `max_pixels` pixels are refused before any pixel is decoded."""
    path = Path(path)
    check_pixels(path, max_pixels)
    try:
        raw = np.fromfile(path, dtype=np.uint8)  # np.fromfile handles non-ASCII names, cv2.imread does not
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a directory, not an image") from None
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read ({exc.strerror or exc}); check the path and its permissions") from None
    if raw.size == 0:
        raise ImageReadError(f"{path}: empty file (0 bytes); re-copy or re-scan it")
    is_jpeg = raw[:2].tobytes() == b"\xff\xd8"
    # IMREAD_UNCHANGED keeps 16 bits and alpha but ignores EXIF rotation; JPEGs have neither, so
    # they are read with ANYCOLOR|ANYDEPTH, which does apply the orientation tag
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if is_jpeg else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(raw, flags)
    if image is None or image.size == 0:
        raise ImageReadError(f"{path}: not a decodable image (corrupt, truncated or another kind of file); skip or replace it")
    if image.dtype.kind == "f":  # float TIFF/EXR: assume [0, 1], keep precision in 16 bits
        image = (np.clip(image, 0, 1) * 65535 + 0.5).astype(np.uint16)
    elif image.dtype not in (np.uint8, np.uint16):
        image = cv2.convertScaleAbs(image)
    return image


def fit_to_format(image: np.ndarray, suffix: str) -> np.ndarray:
    """Drop what the output format cannot store: alpha for JPEG/BMP, 16 bits for JPEG/WebP/BMP."""
    suffix = suffix.lower()
    if image.ndim == 3 and image.shape[2] == 4 and suffix not in ALPHA:
        image = image[:, :, :3]
    if image.dtype == np.uint16 and suffix not in SIXTEEN_BIT:
        image = (image >> 8).astype(np.uint8)
    return image


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode and write atomically: a temporary file in the target folder, then a rename, so a
    crash or kill leaves either no file or a complete one."""
    path = Path(path)
    image = fit_to_format(image, path.suffix)
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.suffix.lower() in (".jpg", ".jpeg") else []
    try:
        ok, encoded = cv2.imencode(path.suffix, np.ascontiguousarray(image), params)
    except cv2.error:
        ok = False
    if not ok:
        raise ColorizeError(f"{path}: OpenCV cannot write {path.suffix!r} files; choose another --format (jpg, png, tif, webp)")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part", dir=path.parent)
        os.fchmod(fd, NEW_FILE_MODE)  # mkstemp makes it private (0600); the output is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(encoded.tobytes())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
            raise OutputError(f"{path.parent}: cannot write there ({os.strerror(exc.errno)}); {OUTPUT_ERRNOS[exc.errno]}, "
                              "then rerun the same command: finished files are kept and nothing partial was left") from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


NEW_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file (read once, at import)

OUTPUT_ERRNOS = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space (quota)",
                 errno.EROFS: "choose a writable -o folder", errno.EACCES: "choose a writable -o folder or fix its permissions",
                 errno.EPERM: "choose a writable -o folder or fix its permissions"}


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


def plan(inputs: list[Path], output: Path | None, suffix: str = "_color", fmt: str | None = None) -> list[Job]:
    """Map inputs to output paths.

    - a file is written beside itself as NAME{suffix}.EXT, or to `output` (a file name with an
      image extension, or a folder where it keeps its name);
    - a folder is walked recursively and mirrored under `output` (default FOLDER{suffix}/).
    `fmt` (jpg, png, ...) changes every output's extension. Inputs are never targets."""
    ext = None if fmt is None else "." + fmt.lower().lstrip(".")
    if ext is not None and ext not in IMAGE_EXTENSIONS:
        raise ColorizeError(f"--format {fmt!r} is not an image format; use one of {', '.join(sorted(e[1:] for e in IMAGE_EXTENSIONS))}")
    output_is_file = output is not None and output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir()
    if output_is_file and (len(inputs) != 1 or inputs[0].is_dir()):
        raise ColorizeError(f"-o {output}: a single output file needs a single input file; give a folder instead")
    jobs = []
    for source in inputs:
        if source.is_dir():
            root = output or source.with_name(source.name + suffix)
            for file in _walk(source):
                target = root / file.relative_to(source)
                if not ext and target.suffix.lower() == ".gif":
                    target = target.with_suffix(".png")  # GIF: first frame, written as PNG
                jobs.append(Job(file, target.with_suffix(ext) if ext else target))
        elif output_is_file:
            jobs.append(Job(source, output))
        else:
            # a file without an image extension (named explicitly) is written as PNG
            own_ext = source.suffix if source.suffix.lower() in IMAGE_EXTENSIONS else source.suffix + ".png"
            own_ext = ".png" if own_ext.lower() == ".gif" else own_ext  # GIF: first frame, written as PNG
            stem = source.name[: len(source.name) - len(source.suffix)] if source.suffix else source.name
            name = f"{stem}{own_ext}" if output else f"{stem}{suffix}{own_ext}"
            target = (output or source.parent) / name
            jobs.append(Job(source, target.with_suffix(ext) if ext else target))
    sources = {j.source.resolve() for j in jobs}
    for job in jobs:
        if job.target.resolve() in sources:
            raise ColorizeError(f"{job.target}: output would overwrite an input; choose another -o or --suffix")
    return jobs


def _walk(folder: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        files += [Path(dirpath) / f for f in sorted(filenames)
                  if Path(f).suffix.lower() in IMAGE_EXTENSIONS and not f.startswith(".")]
    return files
