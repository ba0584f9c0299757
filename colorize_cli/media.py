"""Image files in and out: finding, decoding, format constraints, output planning, metadata and atomic writes.

Only this module touches the file system for photos. Arrays are OpenCV-ordered (gray, BGR, BGRA),
uint8 or uint16, exactly as decoded and turned upright (EXIF orientation applied)."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePath

import cv2
import numpy as np

from colorize_cli import files, metadata
from colorize_cli.errors import ColorizeError, UsageError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
WRITABLE = ("jpg", "png", "tif", "webp")  # the output formats that keep metadata (bmp too, without it)
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
    """Decode an image file keeping bit depth and alpha, turned upright by its EXIF orientation.
    Images declaring more than `max_pixels` pixels are refused before any pixel is decoded."""
    return read_photo(path, max_pixels)[0]


def read_photo(path: Path, max_pixels: int | None = MAX_PIXELS) -> tuple[np.ndarray, metadata.Metadata]:
    """(upright pixels, metadata to carry to the output): see `read_image` and `metadata.read`."""
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
    is_tiff = raw[:4].tobytes() in (b"II*\x00", b"MM\x00*")
    # IMREAD_UNCHANGED keeps 16 bits and alpha but ignores EXIF rotation; JPEGs have neither, so
    # they are read with ANYCOLOR|ANYDEPTH, which applies the orientation tag. TIFFs come upright from
    # libtiff whatever the flags; PNG and WebP are turned upright below from the tag Pillow reads
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if is_jpeg else cv2.IMREAD_UNCHANGED
    image = cv2.imdecode(raw, flags)
    if image is None or image.size == 0:
        raise ImageReadError(f"{path}: not a decodable image (corrupt, truncated or another kind of file); skip or replace it")
    if image.dtype.kind == "f":  # float TIFF/EXR: assume [0, 1], keep precision in 16 bits
        image = (np.clip(image, 0, 1) * 65535 + 0.5).astype(np.uint16)
    elif image.dtype not in (np.uint8, np.uint16):
        image = cv2.convertScaleAbs(image)
    meta = metadata.read(path)
    if not (is_jpeg or is_tiff):
        image = upright(image, meta.orientation)
    return image, meta


def upright(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to the pixels, as a viewer would when showing the photo."""
    turned = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1], 5: lambda a: a.swapaxes(0, 1),
              6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1), 8: lambda a: np.rot90(a, 1)}
    return np.ascontiguousarray(turned[orientation](image)) if orientation in turned else image


def fit_to_format(image: np.ndarray, suffix: str) -> np.ndarray:
    """Drop what the output format cannot store: alpha for JPEG/BMP, 16 bits for JPEG/WebP/BMP."""
    suffix = suffix.lower()
    if image.ndim == 3 and image.shape[2] == 4 and suffix not in ALPHA:
        image = image[:, :, :3]
    if image.dtype == np.uint16 and suffix not in SIXTEEN_BIT:
        image = (image >> 8).astype(np.uint8)
    return image


def write_image(path: Path, image: np.ndarray, meta: metadata.Metadata | None = None, provenance: dict | None = None,
                quality: int | None = None) -> None:
    """Encode and write atomically (a temporary file in the target folder, then a rename, so a crash or
    kill leaves either no file or a complete one), with the input's `meta` and the `provenance` record
    inserted where the format can hold them (see `metadata`)."""
    path = Path(path)
    files.write_atomic(path, encode_image(image, path.suffix, meta, provenance, name=str(path), quality=quality))


def encode_image(image: np.ndarray, suffix: str, meta: metadata.Metadata | None = None, provenance: dict | None = None,
                 name: str = "the output", quality: int | None = None) -> bytes:
    """The bytes of an image file of type `suffix` (".jpg"...), metadata and provenance inserted; `name`
    is what an error calls it. JPEG and WebP are encoded at `quality` (1-100), by default the input's
    (`meta.quality`: a JPEG's estimated quality; a lossless WebP stays lossless), else JPEG_QUALITY."""
    image = fit_to_format(image, suffix)
    quality = quality or (meta.quality if meta is not None else None) or JPEG_QUALITY
    params = {".jpg": [cv2.IMWRITE_JPEG_QUALITY, min(quality, 100)], ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, min(quality, 100)],
              ".webp": [cv2.IMWRITE_WEBP_QUALITY, quality]}.get(suffix.lower(), [])
    try:
        ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(image), params)
    except cv2.error:
        ok = False
    if not ok:
        raise ColorizeError(f"{name}: OpenCV cannot write {suffix!r} files; choose another --format (jpg, png, tif, webp)")
    return metadata.embed(encoded.tobytes(), suffix, (image.shape[1], image.shape[0]), meta, provenance)


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


def plan(inputs: list[Path], output: Path | None, suffix: str = "_color", fmt: str | None = None,
         others: list[Path] | None = None) -> list[Job]:
    """Map inputs to output paths.

    - a file is written beside itself as NAME{suffix}.EXT, or to `output` (a file name with an
      image extension, or a folder where it keeps its name);
    - a folder is walked recursively and mirrored under `output` (default FOLDER{suffix}/).
    `fmt` (jpg, png, ...) changes every output's extension. Inputs are never targets, and an output folder
    inside an input folder is never walked as input (`colorize SRC -o SRC/out` resumes like any other). Files
    in the folders that are not images (videos, HEIC, notes…) are appended to `others`, so they can be reported."""
    ext = output_extension(fmt)
    one_file = len(inputs) == 1 and not inputs[0].is_dir()
    if one_file and output is not None and output.suffix and not output.is_dir() and output.suffix.lower() not in IMAGE_EXTENSIONS:
        raise UsageError(f"-o {output}: unknown image extension {output.suffix} ({', '.join(WRITABLE)}); "
                         f"name the output with one of them, or give a folder without an extension")
    output_is_file = output is not None and output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir()
    if output_is_file and not one_file:
        raise UsageError(f"-o {output}: a single output file needs a single input file; give a folder instead")
    jobs = []
    for source in inputs:
        if source.is_dir():
            root = output or source.with_name(source.name + suffix)
            images, not_images = walk(source, skip=root)
            if others is not None:
                others.extend(not_images)
            for file in images:
                jobs.append(Job(file, root / mirrored(file.relative_to(source), ext)))
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


def output_extension(fmt: str | None) -> str | None:
    """--format as an extension (".png"), None to keep each input's; a format that is not an image's is refused."""
    ext = None if fmt is None else "." + fmt.lower().lstrip(".")
    if ext is not None and ext not in IMAGE_EXTENSIONS:
        raise ColorizeError(f"--format {fmt!r} is not an image format; use one of {', '.join(sorted(e[1:] for e in IMAGE_EXTENSIONS))}")
    return ext


def mirrored(relative: PurePath, ext: str | None) -> PurePath:
    """Where a photo at `relative` inside a folder goes inside the output folder: the same place, with the
    --format extension `ext` if given; a GIF (its first frame) is written as PNG."""
    if not ext and relative.suffix.lower() == ".gif":
        return relative.with_suffix(".png")
    return relative.with_suffix(ext) if ext else relative


def walk(folder: Path, skip: Path | None = None) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under `folder`: recursive, sorted, by extension; hidden files and
    folders (.DS_Store, ._name AppleDouble copies, .git) are neither, nor is the folder `skip` (the output
    folder, when it lies inside)."""
    images, others = [], []
    skipped = Path(skip).resolve() if skip is not None else None
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and (skipped is None or (Path(dirpath) / d).resolve() != skipped))
        for name in sorted(filenames):
            if not name.startswith("."):
                (images if Path(name).suffix.lower() in IMAGE_EXTENSIONS else others).append(Path(dirpath) / name)
    return images, others


def list_images(root: str | os.PathLike) -> list[Path]:
    """Image files under `root` (see `walk`), or `[root]` if it is a file: the one walker used by
    colorize, train and eval."""
    root = Path(root)
    return [root] if root.is_file() else walk(root)[0]
