"""Training data: a folder of colour photos -> tf.data of normalised (L, ab) pairs.

Decoding and colour conversion use the same OpenCV code as inference (`colorspace`), called
through `tf.numpy_function` in parallel map workers (OpenCV releases the GIL)."""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import colorspace
from colorize_cli.media import IMAGE_EXTENSIONS, list_images  # noqa: F401  (the one walker; used as data.list_images)

MIN_CHROMA = colorspace.MIN_CHROMA  # below it a photo is black-and-white: nothing to learn from (eval uses the same)


def read_bgr(path: str | os.PathLike) -> np.ndarray | None:
    """8-bit BGR image (EXIF orientation applied, gray expanded), or None if it cannot be decoded."""
    data = np.fromfile(str(path), dtype=np.uint8)  # np.fromfile copes with non-ASCII paths, cv2.imread does not
    return cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None


@dataclass
class Scan:
    usable: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)
    grayscale: list[Path] = field(default_factory=list)


def _check(path: Path) -> str:
    image = read_bgr(path)
    if image is None or image.size == 0:
        return "unreadable"
    small = cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA)
    ab = colorspace.bgr_to_lab(small)[:, :, 1:]
    return "grayscale" if float(np.hypot(ab[..., 0], ab[..., 1]).mean()) < MIN_CHROMA else "usable"


def scan_images(paths: list[Path], workers: int = 4, progress=None) -> Scan:
    """Sort files into usable / unreadable / grayscale so a broken file never stops training."""
    scan = Scan()
    with ThreadPoolExecutor(workers) as pool:
        for path, verdict in zip(paths, pool.map(_check, paths)):
            getattr(scan, verdict).append(path)
            if progress:
                progress()
    return scan


def split_validation(paths: list[Path], fraction: float = 0.02, minimum: int = 8, maximum: int = 256, seed: int = 0):
    """Deterministic held-out split: (train, val)."""
    shuffled = list(paths)
    random.Random(seed).shuffle(shuffled)
    n_val = min(maximum, max(minimum, int(len(paths) * fraction)))
    n_val = min(n_val, len(paths) // 2)
    return sorted(shuffled[n_val:]), sorted(shuffled[:n_val])


def source_of(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """The top-level folder of `root` that holds `path` ("" for photos directly in `root`)."""
    parts = Path(path).relative_to(root).parts
    return parts[0] if len(parts) > 1 else ""


def balance_sources(paths: list[Path], root: str | os.PathLike) -> list[Path]:
    """Repeat each top-level source folder's photos so every source is drawn about equally often.

    A training folder assembled from several collections is usually lopsided (here 2,500 faces
    against 300 BSDS scenes); unbalanced, the model learns the big source's colours best. Each
    source is repeated round(largest / its size) times (at least once); photos directly in `root`
    count as one source. Deterministic, so resumed runs see the same order."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(source_of(path, root), []).append(Path(path))
    largest = max((len(g) for g in groups.values()), default=0)
    return sorted(p for g in groups.values() for p in g * max(1, round(largest / len(g))))


AB_BINS = 22  # the ab grid of rebalancing: cells of 10 ab units over [-110, 110], as Zhang et al.'s


def ab_rebalancing_weights(paths: list[Path], strength: float, sample: int = 1000, size: int = 64, seed: int = 0,
                           norm=colorspace.DEFAULT_NORMALIZATION) -> np.ndarray:
    """Per-cell weights of the ab grid for `losses.rebalanced_l1`, from the photos' own colour prior.

    p = the share of pixels in each 10x10 ab cell over a seeded sample of photos (centre crops at
    `size` px), smoothed by a Gaussian of sigma 5 ab units; w = 1 / ((1 - strength) p + strength / Q) over
    the Q cells that occur (smoothed), scaled so that the mean weight over the sampled pixels is 1 (the loss
    keeps its scale);
    cells that never occur get the largest weight. strength 0 is plain L1; Zhang et al. use 0.5."""
    chosen = random.Random(seed).sample(list(paths), min(sample, len(paths)))
    counts = np.zeros((AB_BINS, AB_BINS), np.float64)
    for path in chosen:
        _, ab = load_pair(path, size, 0, augment=False, norm=norm)
        cells = np.clip(np.floor((ab.reshape(-1, 2) + 1.0) * 0.5 * AB_BINS), 0, AB_BINS - 1).astype(int)
        np.add.at(counts, (cells[:, 0], cells[:, 1]), 1)
    observed = counts / max(counts.sum(), 1)
    prior = cv2.GaussianBlur(observed, (0, 0), 0.5)  # sigma 0.5 cell = 5 ab units
    prior /= prior.sum()
    occurring = prior > 1e-6
    weights = np.zeros_like(prior)
    weights[occurring] = 1.0 / ((1 - strength) * prior[occurring] + strength / occurring.sum())
    weights /= (observed * weights).sum()  # mean weight over the sampled pixels = 1
    weights[~occurring] = weights[occurring].max()
    return weights.ravel().astype(np.float32)


def load_pair(path, size: int, seed: int, augment: bool, norm=colorspace.DEFAULT_NORMALIZATION):
    """One training example from a file: random (or centred) crop -> size x size -> normalised (L, ab)."""
    image = read_bgr(path)
    if image is None:  # vanished or broken since the scan: a neutral example instead of a crash
        image = np.full((size, size, 3), 128, np.uint8)
    return crop_pair(image, size, seed, augment, norm)


def crop_pair(image: np.ndarray, size: int, seed: int, augment: bool, norm=colorspace.DEFAULT_NORMALIZATION):
    """One training example from decoded BGR: random resized crop (35-100 % of the area, aspect 3:4 .. 4:3,
    a horizontal flip half the time) or the centre square -> size x size -> normalised (L, ab)."""
    h, w = image.shape[:2]
    if augment:
        rng = np.random.default_rng(seed)
        area = rng.uniform(0.35, 1.0) * h * w
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw, ch = int(min(w, round(np.sqrt(area * aspect)))), int(min(h, round(np.sqrt(area / aspect))))
        x0, y0 = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
        image = image[y0:y0 + ch, x0:x0 + cw]
        if rng.random() < 0.5:
            image = image[:, ::-1]
    else:
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        image = image[y0:y0 + side, x0:x0 + side]
    shrinking = image.shape[0] >= size and image.shape[1] >= size
    image = cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    lab = colorspace.bgr_to_lab(image)
    return norm.normalize_l(lab[:, :, :1]), norm.normalize_ab(lab[:, :, 1:])


# A cached photo keeps this many times the training size on its short side: the smallest random crop (35 % of
# the area, ~0.6 of the side) is then still shrunk, not enlarged, to the training size.
CACHE_SCALE = 1.7


def cache_photos(paths: list[Path], size: int, workers: int | None = None, progress=None) -> list[np.ndarray]:
    """Every photo of `paths` decoded once and area-shrunk to a short side of CACHE_SCALE x `size` (never
    enlarged), as uint8 BGR in RAM: training then never decodes a file again (decoding full-size JPEGs cost
    about as much CPU as the network's step). 9.4k photos at 192 px take ~3 GB. Unreadable files become
    neutral gray squares (the scan has already reported them). Repeated paths share one array."""
    target = int(round(CACHE_SCALE * size))

    def load(path):
        image = read_bgr(path)
        if image is None or image.size == 0:
            return np.full((size, size, 3), 128, np.uint8)
        h, w = image.shape[:2]
        scale = target / min(h, w)
        if scale < 1:
            image = cv2.resize(image, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=cv2.INTER_AREA)
        return image

    unique = sorted(set(map(str, paths)))
    loaded = {}
    with ThreadPoolExecutor(workers or os.cpu_count() or 2) as pool:
        for path, image in zip(unique, pool.map(load, unique)):
            loaded[path] = image
            if progress:
                progress()
    return [loaded[str(p)] for p in paths]


def make_dataset(paths: list[Path], size: int, batch_size: int, augment: bool, seed: int = 0,
                 repeat: bool = True, drop_remainder: bool = True, skip_batches: int = 0, images: list | None = None):
    """tf.data pipeline: shuffle -> parallel decode/crop/LAB -> batch -> prefetch.

    `images` (from `cache_photos(paths, size)`): decoded photos in RAM, used instead of reading `paths`.
    The order and the augmentation of every example are a pure function of `seed` and its position,
    so `skip_batches=n` resumes exactly where a run stopped (skipping happens before decoding: cheap)."""
    from colorize_cli._keras import tf

    if images is not None and len(images) != len(paths):
        raise ValueError(f"{len(images)} cached images for {len(paths)} paths")
    files = tf.data.Dataset.from_tensor_slices([str(p) for p in paths] if images is None else np.arange(len(paths)))
    if augment:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        files = files.repeat()
    seeds = tf.data.Dataset.random(seed=seed)  # one augmentation seed per example, reproducible
    examples = tf.data.Dataset.zip(files, seeds).skip(skip_batches * batch_size)

    if images is None:
        def example(item, s):
            return load_pair(item.decode(), size, int(s) & 0x7FFFFFFF, augment)
    else:
        def example(item, s):
            return crop_pair(images[int(item)], size, int(s) & 0x7FFFFFFF, augment)

    def load(item, example_seed):
        l, ab = tf.numpy_function(example, [item, example_seed], [tf.float32, tf.float32], stateful=False)
        l.set_shape((size, size, 1))
        ab.set_shape((size, size, 2))
        return l, ab

    ds = examples.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def load_arrays(paths: list[Path], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre-cropped validation examples as arrays (for sample grids and metrics)."""
    pairs = [load_pair(p, size, 0, augment=False) for p in paths]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
