"""Colour from a reference: a colour photo of the same scene, a hand-coloured keyframe, a photo of the same uniform.

Each pixel of the gray input is matched to the reference pixel whose lightness neighbourhood looks most
like its own (Welsh, Ashikhmin & Mueller 2002, "Transferring color to greyscale images", with
multi-scale descriptors and a confidence); the matched colours go to the hints solver
(`hints.solve`'s guide) as soft hints over the model's prediction, weighted by that confidence, so
confident matches recolour their regions along the photo's edges and the model's colour holds where
nothing matched. Hints given with a reference are applied over its result: they win.

Features, per pixel of a grid of longer side MATCH_SIDE (both images area-averaged to it, so the
scales are relative to the picture): L, L blurred at 2, 4 and 8 pixels, the local standard deviation
of L at 2 and 4 pixels and the gradient magnitude: all invariant to mirroring and rotation, and
affine in L, so the reference's L is remapped to the input's mean and spread first (Hertzmann et al.
2001's luminance remapping: a darker print still matches); plus a weak position prior (POSITION L
units per picture size). The network's encoder would give semantic features, but the bundled models
run as LiteRT flatbuffers whose only output is the ab head; these lightness descriptors need nothing
from the model.

Confidence of a match = similarity x cycle consistency: exp(-(d / SIMILARITY)^2) for the feature
distance d, times how close the input pixel that the matched reference pixel itself matches best lies
to the pixel we started from (a match that comes back is trustworthy; one that lands elsewhere in
the picture is ambiguous), floored at CYCLE_FLOOR because flat regions never come back exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import colorspace
from colorize_cli.errors import ColorizeError

MATCH_SIDE = 160  # input and reference are matched on grids of this longer side
POSITION = 4.0  # L units of feature distance per picture size of position difference (a weak prior)
MATCH_EPS = 3.0  # approximate nearest neighbours (within 1 + eps of the best distance): 4x faster than exact,
# the same PSNR on validation photos (+6.36 against +6.32 dB on 16)
NEIGHBOURS = 4  # each input pixel takes the confidence-weighted mean colour of its best few matches
SIMILARITY = 6.0  # feature distance (L units) at which a match's similarity has fallen to 1/e
CYCLE_SCALE = 0.15  # picture sizes: a match that comes back within this is consistent
CYCLE_FLOOR = 0.3  # ... and one that does not keeps this share of its similarity
GRAY_CHROMA = 4.0  # a reference whose 99th percentile of chroma is below this has no colour to give
# video (`Shots`): a shot's reference is matched afresh every RECHECK frames and carried along by optical flow
# in between (the pan clip of bench/hints.py --video: 30.93 dB against 30.92 matching every frame, 1/8 of the cost)
RECHECK = 8
SHOT_SIMILARITY = 0.5  # a later shot takes its most similar reference only if that matches this well (mean confidence)
VIDEO_SOLVE_PIXELS = 14_400  # a video frame's reference colours are solved on this many pixels (a photo's: hints.REFERENCE_PIXELS;
# on the pan clip 30.98 dB against 30.93, the solve 4x cheaper)


class ReferenceError(ColorizeError):
    """A reference that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class Reference:
    """One or more colour references ready to match: per reference, its lightness features before
    remapping, its ab and its pixel positions, on the matching grid."""

    names: tuple[str, ...]
    parts: tuple  # per reference: (level features (m, 4), contrast features (m, 3), positions (m, 2), ab (m, 2), L mean, L std)
    digest: str  # of the pixels: what an output records, so a rerun with another reference is not taken as done

    def describe(self) -> str:
        return f"{', '.join(self.names)} ({self.digest})"


def _grid(lightness: np.ndarray) -> np.ndarray:
    height, width = lightness.shape[:2]
    scale = min(1.0, MATCH_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(lightness.astype(np.float32), size, interpolation=cv2.INTER_AREA)


def _features(lum: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level features (n, 4): L and L blurred at 2, 4, 8 px; contrast features (n, 3): local std at 2
    and 4 px and gradient magnitude; positions (n, 2) in picture sizes) of an L image on the grid."""
    blurred = [cv2.GaussianBlur(lum, (0, 0), sigma) for sigma in (2, 4, 8)]
    square = [cv2.GaussianBlur(lum * lum, (0, 0), sigma) for sigma in (2, 4)]
    spread = [np.sqrt(np.maximum(sq - b * b, 0.0)) for sq, b in zip(square, blurred[:2])]
    smooth = cv2.GaussianBlur(lum, (0, 0), 1.0)
    gradient = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)) / 8
    levels = np.stack([lum, *blurred], axis=-1).reshape(-1, 4)
    contrast = np.stack([*spread, gradient], axis=-1).reshape(-1, 3)
    height, width = lum.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32) / max(height, width)
    return levels, contrast, np.stack([xs.ravel(), ys.ravel()], axis=1)


def from_image(image: np.ndarray, name: str = "reference", rgb_order: bool = False) -> Reference:
    """A colour image (OpenCV order, or RGB with `rgb_order`; uint8/uint16/float in [0, 1]) -> Reference."""
    return combine([_single(image, name, rgb_order)])


def _single(image: np.ndarray, name: str, rgb_order: bool = False) -> Reference:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or (image.shape[2] == 3 and _is_gray(image)):
        raise ReferenceError(f"reference {name}: is a gray image, with no colour to take; give a colour photo")
    colour = np.ascontiguousarray(image[:, :, [2, 1, 0] if rgb_order else [0, 1, 2]])
    lab = colorspace.bgr_to_lab(colour)
    chroma = np.hypot(lab[:, :, 1], lab[:, :, 2])
    if np.percentile(chroma, 99) < GRAY_CHROMA:
        raise ReferenceError(f"reference {name}: has almost no colour (a gray or toned print); give a colour photo")
    small = cv2.resize(lab, tuple(_grid(lab[:, :, 0]).shape[::-1]), interpolation=cv2.INTER_AREA)
    levels, contrast, positions = _features(np.ascontiguousarray(small[:, :, 0]))
    lum = small[:, :, 0]
    part = (levels, contrast, positions, small[:, :, 1:].reshape(-1, 2).astype(np.float32), float(lum.mean()), float(max(lum.std(), 1.0)))
    digest = hashlib.sha256(np.ascontiguousarray(small).tobytes()).hexdigest()[:12]
    return Reference((Path(name).name,), (part,), digest)


def _is_gray(image: np.ndarray) -> bool:
    return bool(np.array_equal(image[:, :, 0], image[:, :, 1]) and np.array_equal(image[:, :, 1], image[:, :, 2]))


def combine(references: list[Reference]) -> Reference:
    """Several references as one: each input pixel takes its best match among all of them."""
    names = tuple(n for r in references for n in r.names)
    parts = tuple(p for r in references for p in r.parts)
    digest = references[0].digest if len(references) == 1 else hashlib.sha256(
        "".join(r.digest for r in references).encode()).hexdigest()[:12]
    return Reference(names, parts, digest)


def load(path: str | Path) -> Reference:
    """A reference file, or every image in a folder of them; ReferenceError (one line, naming it) otherwise."""
    from colorize_cli import media

    path = Path(path)
    if path.is_dir():  # its images, recursively (other files, such as a README, are not references)
        files = media.list_images(path)
        if not files:
            raise ReferenceError(f"--reference {path}: has no images; give colour photos or a folder of them")
        return combine([load(p) for p in files])
    try:
        image = media.read_image(path)
    except ColorizeError as exc:
        raise ReferenceError(f"--reference {exc}") from None
    return _single(image, str(path))


def load_all(paths) -> Reference:
    return combine([load(p) for p in paths])


def resolve(spec, rgb_order: bool = False) -> Reference | None:
    """Reference, a path, a colour array, or a list of them -> Reference (None for None or an empty list)."""
    if spec is None or isinstance(spec, Reference):
        return spec
    if isinstance(spec, (str, Path)):
        return load(spec)
    if isinstance(spec, np.ndarray):
        return from_image(spec, "reference array", rgb_order)
    items = list(spec)
    if not items:
        return None
    return combine([resolve(item, rgb_order) for item in items])


def guide(reference: Reference, lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matched reference ab (h, w, 2) and confidence (h, w) in [0, 1] on the grid of `lightness` (the input's L)."""
    height, width = lightness.shape
    return upsampled(match(reference, _grid(lightness)), height, width)


def upsampled(matched: tuple[np.ndarray, np.ndarray], height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """`match`'s (ab, confidence) on the matching grid -> the same on a (height, width) grid."""
    ab, confidence = matched
    ab = cv2.resize(ab, (width, height), interpolation=cv2.INTER_LINEAR)
    confidence = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
    return ab.reshape(height, width, 2), np.clip(confidence, 0.0, 1.0)


def match(reference: Reference, lum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matched reference ab (h, w, 2) and confidence (h, w) for `lum`, the input's L on the matching grid."""
    from scipy.spatial import cKDTree

    levels, contrast, positions = _features(lum)
    mean, spread = float(lum.mean()), float(max(lum.std(), 1.0))
    query = np.concatenate([levels, contrast, POSITION * positions], axis=1)
    # every reference's L remapped to the input's mean and spread (its features are affine in L)
    ref_features, ref_ab = [], []
    for ref_levels, ref_contrast, ref_pos, ab, ref_mean, ref_spread in reference.parts:
        gain = spread / ref_spread
        ref_features.append(np.concatenate([(ref_levels - ref_mean) * gain + mean, ref_contrast * gain, POSITION * ref_pos], axis=1))
        ref_ab.append(ab)
    ref_features, ref_ab = np.concatenate(ref_features), np.concatenate(ref_ab)
    distance, index = cKDTree(ref_features).query(query, k=NEIGHBOURS, eps=MATCH_EPS)
    # cycle: the input pixel each best match itself matches best, and how far that lies from where we started
    _, back = cKDTree(query).query(ref_features[index[:, 0]], k=1, eps=MATCH_EPS)
    cycle = np.hypot(*(positions[back] - positions).T)
    similarity = np.exp(-np.square(distance / SIMILARITY))
    weights = similarity + 1e-12
    ab = np.einsum("nk,nkc->nc", weights, ref_ab[index]) / weights.sum(1, keepdims=True)
    confidence = similarity[:, 0] * (CYCLE_FLOOR + (1 - CYCLE_FLOOR) * np.exp(-np.square(cycle / CYCLE_SCALE)))
    return ab.reshape(*lum.shape, 2).astype(np.float32), confidence.reshape(lum.shape).astype(np.float32)


@dataclass(frozen=True)
class Matched:
    """A reference already matched to one frame (a video's, see `Shots`): ab (h, w, 2) and confidence (h, w)
    on the matching grid; `hints.render` takes it where it takes a Reference."""

    ab: np.ndarray
    confidence: np.ndarray
    solve_pixels: int = VIDEO_SOLVE_PIXELS

    def guide(self, lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return upsampled((self.ab, self.confidence), *lightness.shape)


def similarity(matched: tuple[np.ndarray, np.ndarray]) -> float:
    """How well a reference matches a frame: its mean confidence (1 for the frame's own colours; 0.5 to 0.7 for
    a photo's own truth mirrored and cropped, 0.02 to 0.5 for unrelated photos: scikit-image's samples)."""
    return float(matched[1].mean())


class Shots:
    """A video's references, shot by shot. At the first frame of each shot (`cut` says when one starts)
    every reference is matched to it and the shot takes the most similar one alone (several references are
    not mixed); a later shot takes none, keeping the automatic colour, when even the best matches worse than
    SHOT_SIMILARITY (another scene), while the first shot always takes its best (the references were given
    for this film). Within the shot the frames change little: the reference is matched afresh every RECHECK
    frames, and in between the last match is carried to the frame by optical flow (DIS, on the matching
    grid): 1/8 of the matching's cost. Call `guide` with each frame's L in order."""

    def __init__(self, reference: Reference):
        self.parts = [Reference((name,), (part,), reference.digest) for name, part in zip(reference.names, reference.parts)]
        self.pending, self.first = True, True
        self.chosen: Reference | None = None
        self.key = None  # (matching-grid L as uint8, its match) of the frame last matched
        self.since = 0
        self.taken: list[str | None] = []  # per shot: the name of the reference it took, or None
        self.frames = 0  # frames given a reference
        self._flow = None

    def cut(self) -> None:
        self.pending = True

    def guide(self, lightness: np.ndarray) -> Matched | None:
        lum = _grid(lightness)
        small = np.clip(lum * 2.55 + 0.5, 0, 255).astype(np.uint8)
        if self.pending:
            self.pending = False
            matches = [match(part, lum) for part in self.parts]
            scores = [similarity(m) for m in matches]
            best = int(np.argmax(scores))
            self.chosen = self.parts[best] if self.first or scores[best] >= SHOT_SIMILARITY else None
            self.first = False
            self.taken.append(self.chosen.names[0] if self.chosen else None)
            if self.chosen is None:
                return None
            self.key, self.since = (small, matches[best]), 0
        elif self.chosen is None:
            return None
        elif self.since >= RECHECK or min(lum.shape) < 16:  # DIS needs a few of its 8-pixel patches
            self.key, self.since = (small, match(self.chosen, lum)), 0
        self.since += 1
        self.frames += 1
        key_l, (ab, confidence) = self.key
        if self.since > 1:  # not the frame just matched
            ab, confidence = self._carried(key_l, small, ab, confidence)
        return Matched(ab, confidence)

    def _carried(self, key_l, frame_l, ab, confidence):
        """The key frame's match moved to this frame: where each pixel of it lies in the key frame (dense
        flow), the match there; pixels that came into view since get no confidence."""
        if self._flow is None:
            self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        flow = self._flow.calc(frame_l, key_l, None)
        height, width = frame_l.shape
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        map_x, map_y = xs + flow[..., 0], ys + flow[..., 1]
        ab = cv2.remap(ab, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        confidence = cv2.remap(confidence, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return ab.reshape(height, width, 2), confidence

    def describe(self, total_frames: int) -> str:
        """The summary's words: how many frames and shots took which reference."""
        took = [name for name in self.taken if name is not None]
        counts = {name: took.count(name) for name in dict.fromkeys(took)}
        which = ", ".join(f"{name} {n}" for name, n in counts.items()) if len(self.parts) > 1 else ""
        shots = f"{len(took)} of {len(self.taken)} shots" + (f": {which}" if which else "")
        return f"the reference applied to {self.frames} of {total_frames} frames ({shots})"
