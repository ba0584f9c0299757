"""User-guided colour: hints and scribbles propagated over the automatic result.

A hint is a pixel whose colour the user knows; only its chroma (CIE ab) counts, its lightness is the
photo's own. Hints come as `--hints marks.png` (an RGBA image whose opaque pixels are hints, or a copy
of the photo with colour painted on it), as `--hint X,Y,COLOR` patches, or in Python as an RGBA array
or a list of `(x, y, colour)`; all of them become one `Hints` (pixel coordinates and their ab).

The maths (Levin, Lischinski & Weiss, "Colorization using Optimization", SIGGRAPH 2004, with the
model's prediction as a prior). Let P be the automatic ab (the model's prediction; 0 for a gray prior),
H the hints' ab, and D = U - P the correction of the output U. Per channel, on a working grid of at
most WORK_PIXELS (area-averaged L), minimise

    E(D) = sum_{r~s} w_rs (D_r - D_s)^2  +  lam * sum_r d_r D_r^2  +  MU * sum_h m_h d_h (D_h - (H_h - P_h))^2

- r ~ s are 4-neighbours; w_rs = exp(-(L_r - L_s)^2 / s_rs), s_rs the mean over r and s of Levin et
  al.'s scale: 0.6 x the variance of L in the 3x3 window (neighbours of similar lightness get similar
  colour, "similar" judged against the local contrast), raised so that each pixel's most similar
  neighbour keeps a weight >= 0.01 (as in their code), and kept within [AFFINITY_FLOOR, AFFINITY_CAP];
  d_r = sum_s w_rs;
- lam_r pulls the correction back to 0, i.e. the output back to the automatic colour, and grows with
  the pixel's edge-aware (geodesic) distance g_r from the nearest hint: lam_r = exp(LOCALITY g_r / reach)
  / (FADE * longer side)^2, capped at e^MAX_EXPONENT times its value at the hints (`prior_weight`).
  g is in picture sizes, a step costing its length plus GEODESIC_EDGE_COST pixels per L unit it
  crosses (`geodesic_distance`), so a hint's colour fills its region and the model's colour holds
  beyond about `reach` (default REACH); lam = 0 (reach = inf) is pure Levin: every free pixel is the
  affinity-weighted mean of its neighbours;
- m_h is the fraction of a working pixel covered by hints and MU = 1e4: the hints are hard
  constraints in all but name (and are pasted exactly at full resolution at the end).

Solving for the correction rather than for U keeps the prediction's own detail wherever the hints do
not reach, and without hints D = 0: the output is exactly the automatic one. E is quadratic; its
minimum solves the sparse symmetric positive-definite system ((1 + lam + MU m) d - W) D = MU m d (H - P),
both channels at once, by conjugate gradients (scipy.sparse) preconditioned with Jacobi plus an exact
coarse correction on aggregates that follow the edges (`_TwoLevel`; their Galerkin matrix factorised
by SuperLU carries the long-range propagation). D is brought to full resolution by a guided filter (He et al. 2010) fitted on
the working grid with the working L as guide and applied to the full-resolution L (D = a L + b, with
a and b bilinearly up-sampled), so the correction's edges follow the photo's own.

A reference (`colorize_cli.reference`) adds soft hints everywhere: its matched ab R with a confidence
c in [0, 1]. They are solved for first, on a coarser grid, with GUIDE_WEIGHT c d_r (D_r - (R_r - P_r))^2
in place of the hint term and a uniform pull back to the prior (REFERENCE_REACH); the hints are then
solved for over that result, so they win where both are.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import colorspace
from colorize_cli.errors import ColorizeError

DEFAULT_SIZE = 5  # side of a --hint patch in pixels (the SIGGRAPH17 evaluation reveals 5x5 patches)
WORK_PIXELS = 250_000  # the system is solved on at most this many pixels (a 1 MP photo at half size)
BLOCK = 4  # the preconditioner's coarse cells: BLOCK x BLOCK working pixels, split along weak links, solved directly
STRONG = 0.1  # links at least this strong hold an aggregate of the preconditioner together
AFFINITY_FLOOR, AFFINITY_CAP = 4.0, 16.0  # bounds of the affinity scale, L units squared (chosen on validation photos)
REACH = 1.0  # how far a hint's colour holds, in picture sizes of (geodesic) distance (chosen on validation photos)
FADE = 4.0  # at the hints, the prior's pull alone would let a correction fade over this many picture sizes ...
LOCALITY = 8.0  # ... and its weight grows as exp(LOCALITY x geodesic distance / reach): hints stay in their region
MAX_EXPONENT = 14.0  # ... up to e^14 times that (the prior then holds within a pixel)
GEODESIC_SIDE = 192  # geodesic distances are computed on a grid of this longer side
GEODESIC_EDGE_COST = 5.0  # a geodesic step costs its length plus this many pixels per L unit it crosses (chosen on
# validation photos: the least that keeps one hint within 20 % of the photo at REACH, docs/hints.md)
GEODESIC_DEADZONE = 1.0  # L changes below this per pixel (soft shading, what grain the blur leaves) cost nothing
GEODESIC_SMOOTH = 10.0  # L is first smoothed by a bilateral filter that averages L differences up to about this
REFERENCE_PIXELS = 62_500  # a reference's colours are solved for on at most this many pixels
REFERENCE_REACH = 0.5  # a reference's colours fade over this many picture sizes where its confidence is low
GUIDE_WEIGHT = 1.0  # a fully confident reference pixel weighs this much against its neighbours
MU = 1e4  # weight of a hint pixel relative to its neighbours: a hard constraint in effect
CG_ITERATIONS = 60  # at most; it usually stops at CG_TOLERANCE first
CG_TOLERANCE = 0.01  # stop when the preconditioned residual (an estimate of the error) is this small (RMS, ab units)
GUIDE_RADIUS, GUIDE_EPS = 2, 4.0  # guided up-sampling: window radius in working pixels, regulariser in L units^2
PAINT_THRESHOLD = 6.0  # a painted copy: pixels whose ab differs from the photo's by more than this are hints


class HintError(ColorizeError):
    """A hint or hints file that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Hints:
    """Hint pixels of one image of `shape` (height, width): rows `ys`, columns `xs` and their CIE `ab` (n, 2)."""

    shape: tuple[int, int]
    ys: np.ndarray
    xs: np.ndarray
    ab: np.ndarray
    reach: float = REACH  # how far their colour spreads (see the module docstring)
    reference: object = None  # a reference.Reference: colour photo(s) whose matched colours guide the rest
    # (or a reference.Matched: one already matched to this frame of a video)

    def __len__(self) -> int:
        return int(self.ys.size)

    @property
    def empty(self) -> bool:
        """No hint pixels and no reference: the output is the automatic one."""
        return not len(self) and self.reference is None

    @classmethod
    def none(cls, shape: tuple[int, int]) -> "Hints":
        return cls(tuple(shape), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros((0, 2), np.float32))


# -- colours and --hint values ---------------------------------------------------------------------

def parse_color(text: str) -> tuple[int, int, int]:
    """'#RRGGBB', '#RGB' or a CSS colour name -> (r, g, b) in 0..255; HintError naming the value otherwise."""
    value = text.strip().lower()
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return tuple(17 * int(c, 16) for c in value[1:])
    from PIL import ImageColor  # Pillow's colormap: the 148 CSS colour names (the same values as CSS4)

    if value in ImageColor.colormap:
        return ImageColor.getrgb(value)[:3]
    close = difflib.get_close_matches(value, list(ImageColor.colormap), n=1)
    suggestion = f" (did you mean {close[0]!r}?)" if close else ""
    raise HintError(f"unknown colour {text!r}{suggestion}: give #RRGGBB or a CSS colour name such as firebrick")


def parse_hint(text: str) -> tuple[int, int, tuple[int, int, int]]:
    """'X,Y,COLOR' (pixel coordinates in the input) -> (x, y, (r, g, b)); errors name the bad value."""
    parts = [p.strip() for p in text.split(",", 2)]
    if len(parts) != 3 or not all(parts):
        raise HintError(f"--hint {text!r}: expected X,Y,COLOR, e.g. 120,80,#b22222 or 120,80,firebrick")
    try:
        x, y = int(parts[0]), int(parts[1])
    except ValueError:
        raise HintError(f"--hint {text!r}: X and Y must be whole pixel coordinates (from the top-left corner), "
                        f"e.g. 120,80,#b22222") from None
    if x < 0 or y < 0:
        raise HintError(f"--hint {text!r}: X and Y must not be negative (pixels from the top-left corner)")
    try:
        return x, y, parse_color(parts[2])
    except HintError as exc:
        raise HintError(f"--hint {text!r}: {exc}") from None


def _ab_of_rgb(colours) -> np.ndarray:
    """(n, 3) 0..255 RGB -> (n, 2) float32 CIE ab."""
    rgb = np.asarray(colours, dtype=np.float64).reshape(1, -1, 3)
    return colorspace.rgb_to_lab((np.clip(rgb, 0, 255) / 255).astype(np.float32))[0, :, 1:].astype(np.float32)


def from_points(points, shape: tuple[int, int], size: int = DEFAULT_SIZE) -> Hints:
    """[(x, y, colour), ...] -> Hints: a square patch of side `size` centred on each point (clipped to the
    image). A colour is an (r, g, b) triple in 0..255, '#RRGGBB' or a CSS name."""
    height, width = shape
    if size < 1:
        raise HintError(f"hint size {size}: must be at least 1 pixel")
    ys, xs, colours = [], [], []
    for point in points:
        try:
            x, y, colour = point
            x, y = int(x), int(y)
        except (TypeError, ValueError):
            raise HintError(f"hint {point!r}: expected (x, y, colour)") from None
        if not (0 <= x < width and 0 <= y < height):
            raise HintError(f"hint at {x},{y} is outside the {width}x{height} image (pixels from the top-left corner)")
        rgb = parse_color(colour) if isinstance(colour, str) else tuple(colour)
        if len(rgb) != 3:
            raise HintError(f"hint at {x},{y}: colour {colour!r} is not an (r, g, b) triple")
        top, left = max(0, y - size // 2), max(0, x - size // 2)
        patch_y, patch_x = np.mgrid[top:min(height, y - size // 2 + size), left:min(width, x - size // 2 + size)]
        ys.append(patch_y.ravel())
        xs.append(patch_x.ravel())
        colours.append(np.broadcast_to(np.asarray(rgb, np.float64), (patch_y.size, 3)))
    if not ys:
        return Hints.none(shape)
    return Hints(tuple(shape), np.concatenate(ys).astype(np.int32), np.concatenate(xs).astype(np.int32),
                 _ab_of_rgb(np.concatenate(colours)))


def from_marks(marks: np.ndarray, image: np.ndarray, name: str = "hints image") -> Hints:
    """Hints from a marks image in OpenCV order (BGR or BGRA, uint8/uint16/float) for `image` (the photo,
    OpenCV order). BGRA with some transparent pixels: every pixel with alpha > 0 is a hint of its colour.
    BGR, or BGRA opaque everywhere: a copy of the photo with colour painted on it; pixels whose ab differs
    from the photo's by more than PAINT_THRESHOLD are hints. Scaled to the photo (same aspect ratio)."""
    height, width = image.shape[:2]
    require_colour(marks, name)
    mark_h, mark_w = marks.shape[:2]
    if abs(mark_w * height - mark_h * width) > 0.01 * mark_w * height + (height + width) / 2:
        raise HintError(f"{name}: {mark_w}x{mark_h} does not have the photo's aspect ratio ({width}x{height}); "
                        "draw the hints on a copy of the photo or an image of its proportions")
    if (mark_h, mark_w) != (height, width):  # nearest neighbour: hint colours stay exactly as drawn
        marks = cv2.resize(marks, (width, height), interpolation=cv2.INTER_NEAREST)
    alpha = marks[:, :, 3] if marks.shape[2] == 4 else None
    lab = colorspace.bgr_to_lab(np.ascontiguousarray(marks[:, :, :3]))
    if alpha is not None and not alpha.all():
        mask = alpha > 0
        if not mask.any():
            raise HintError(f"{name}: every pixel is transparent, so there are no hints; paint the hint colours opaque")
    else:
        photo_ab = _photo_ab(image)
        mask = np.hypot(lab[:, :, 1] - photo_ab[..., 0], lab[:, :, 2] - photo_ab[..., 1]) > PAINT_THRESHOLD
        if not mask.any():
            raise HintError(f"{name}: no hints found: it has no transparency and no colour painted over the photo; "
                            "give an RGBA image whose opaque pixels are the hint colours, or paint on a copy of the photo")
    ys, xs = np.nonzero(mask)
    return Hints((height, width), ys.astype(np.int32), xs.astype(np.int32), lab[ys, xs, 1:].astype(np.float32))


def require_colour(marks: np.ndarray, name: str) -> None:
    if marks.ndim != 3 or marks.shape[2] not in (3, 4):
        raise HintError(f"{name}: has no colour (a gray image); give an RGBA image whose opaque pixels are the hint "
                        "colours, or a copy of the photo with colour painted on it")


def _photo_ab(image: np.ndarray):
    """The photo's own ab (0 for gray photos): a painted copy is compared against it."""
    if image.ndim == 2 or image.shape[2] == 1:
        return np.zeros((1, 1, 2), np.float32)
    return colorspace.bgr_to_lab(np.ascontiguousarray(image[:, :, :3]))[:, :, 1:]


def read_marks(path: Path) -> np.ndarray:
    """A hints file as decoded by `media` (OpenCV order, alpha kept); HintError naming the file otherwise."""
    from colorize_cli import media

    try:
        return media.read_image(Path(path))
    except ColorizeError as exc:
        raise HintError(f"--hints {exc}") from None


# -- hints files in JSON (`colorize studio` writes them; `--hints NAME.hints.json` reads them) -----------

POINTS_FORMAT = "colorize-hints"  # the "format" of a hints file; "version" 1


def points_document(points, shape: tuple[int, int], size: int = DEFAULT_SIZE) -> dict:
    """[(x, y, (r, g, b)), ...] for an image of `shape` -> the JSON document `read_points` reads back."""
    height, width = shape
    return {"format": POINTS_FORMAT, "version": 1, "width": int(width), "height": int(height), "hint_size": int(size),
            "hints": [{"x": int(x), "y": int(y), "color": "#%02x%02x%02x" % tuple(int(c) for c in rgb)} for x, y, rgb in points]}


def points_from_document(document, name: str) -> tuple[list, int, tuple[int, int]]:
    """A parsed hints document -> (points [(x, y, (r, g, b))], hint size, (height, width) it was made for);
    HintError naming `name` and what is wrong. Other keys (the model and saturation it was seen with) are
    the writer's notes."""
    if not isinstance(document, dict) or document.get("format") != POINTS_FORMAT:
        raise HintError(f"{name}: not a colorize hints file (no \"format\": \"{POINTS_FORMAT}\"); "
                        "save one from `colorize studio`, or give a marks image")
    if document.get("version") != 1:
        raise HintError(f"{name}: hints file version {document.get('version')!r} is not 1; save it again with this colorize")
    try:
        width, height, size = (int(document[key]) for key in ("width", "height", "hint_size"))
        entries = list(document["hints"])
        if width < 1 or height < 1 or size < 1:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise HintError(f"{name}: needs positive \"width\", \"height\", \"hint_size\" and a \"hints\" list") from None
    points = []
    for entry in entries:
        try:
            x, y, colour = int(entry["x"]), int(entry["y"]), str(entry["color"])
        except (KeyError, TypeError, ValueError):
            raise HintError(f"{name}: hint {entry!r} needs whole \"x\", \"y\" and a \"color\"") from None
        if not (0 <= x < width and 0 <= y < height):
            raise HintError(f"{name}: hint at {x},{y} is outside its {width}x{height} image")
        try:
            points.append((x, y, parse_color(colour)))
        except HintError as exc:
            raise HintError(f"{name}: {exc}") from None
    return points, size, (height, width)


def read_points(path: Path) -> tuple[list, int, tuple[int, int]]:
    """A hints JSON file -> see `points_from_document`; HintError naming the file otherwise."""
    import json

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise HintError(f"--hints {path}: cannot read ({exc.strerror or exc}); check the path") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise HintError(f"--hints {path}: not valid JSON ({exc}); save it again from `colorize studio`") from None
    return points_from_document(document, f"--hints {path}")


def resolve(spec, image: np.ndarray, size: int = DEFAULT_SIZE, rgb_order: bool = False, reach: float | None = None) -> Hints:
    """Any accepted form of hints -> Hints for `image` (OpenCV order). `spec`: Hints, a marks array
    (RGB(A) order when `rgb_order`, else OpenCV order), a path to a marks file, or a list of (x, y, colour).
    `reach`: how far they spread (default: REACH, or the Hints' own)."""
    hints = _resolve(spec, image, size, rgb_order)
    return hints if reach is None else dataclasses.replace(hints, reach=check_reach(reach))


def check_reach(reach: float, name: str = "hint reach") -> float:
    if not reach > 0:
        raise HintError(f"{name} {reach:g}: must be above 0 (0.25: a quarter of the picture; inf: no limit)")
    return float(reach)


def _resolve(spec, image: np.ndarray, size: int, rgb_order: bool) -> Hints:
    shape = image.shape[:2]
    if spec is None:
        return Hints.none(shape)
    if isinstance(spec, Hints):
        if tuple(spec.shape) != tuple(shape):
            raise HintError(f"hints were made for a {spec.shape[1]}x{spec.shape[0]} image, not {shape[1]}x{shape[0]}")
        return spec
    if isinstance(spec, (str, Path)):
        return from_marks(read_marks(Path(spec)), image, str(spec))
    if isinstance(spec, np.ndarray):
        marks = spec
        if rgb_order and marks.ndim == 3 and marks.shape[2] in (3, 4):
            marks = marks[:, :, [2, 1, 0, 3][: marks.shape[2]]]
        return from_marks(np.ascontiguousarray(marks), image)
    return from_points(list(spec), shape, size)


def combine(first: Hints, second: Hints) -> Hints:
    """Both sets of hints (the second wins where they overlap; the first's reach and reference)."""
    return Hints(first.shape, np.concatenate([first.ys, second.ys]), np.concatenate([first.xs, second.xs]),
                 np.concatenate([first.ab, second.ab]), first.reach, first.reference)


@dataclass
class HintSpec:
    """The command line's hints (`--hints FILE`, `--hint X,Y,COLOR`..., `--hint-size N`), checked when
    parsed and resolved against each image (or a video's first frame) they are applied to."""

    marks_path: Path | None
    texts: list[str]
    size: int = DEFAULT_SIZE
    marks: np.ndarray | None = None
    points: list = field(default_factory=list)
    reach: float = REACH
    reference: object = None  # a reference.Reference (--reference): applies to every image, not one
    file_points: tuple | None = None  # a hints JSON file (`--hints NAME.hints.json`): (points, size, shape)

    @classmethod
    def parse(cls, marks_path: str | Path | None, texts: list[str], size: int = DEFAULT_SIZE, reach: float = REACH,
              references=()) -> "HintSpec":
        """HintError (one line, naming the bad value or file) for anything unusable; `references`: the
        --reference files (or folders of them), ReferenceError for one that is unreadable or gray."""
        if size < 1:
            raise HintError(f"--hint-size {size}: must be at least 1 pixel")
        reach = check_reach(reach, "--hint-reach")
        points = [parse_hint(text) for text in texts]
        file_points = marks = None
        if marks_path is not None and Path(marks_path).suffix.lower() == ".json":
            file_points = read_points(Path(marks_path))
        elif marks_path is not None:
            marks = read_marks(Path(marks_path))
            require_colour(marks, f"--hints {marks_path}")
        reference = None
        if references:
            from colorize_cli import reference as references_module

            reference = references_module.load_all(references)
        return cls(Path(marks_path) if marks_path is not None else None, list(texts), size, marks, points, reach, reference,
                   file_points)

    @property
    def has_pixels(self) -> bool:
        """Hints tied to one image's pixels (--hints, --hint), as opposed to a reference only."""
        return self.marks is not None or self.file_points is not None or bool(self.points)

    def resolve(self, image: np.ndarray) -> Hints:
        """Hints for `image` (OpenCV order)."""
        hints = Hints.none(image.shape[:2])
        if self.marks is not None:
            hints = from_marks(self.marks, image, f"--hints {self.marks_path}")
        height, width = image.shape[:2]
        if self.file_points is not None:
            points, size, shape = self.file_points
            if tuple(shape) != (height, width):
                raise HintError(f"--hints {self.marks_path}: made for a {shape[1]}x{shape[0]} image, not this "
                                f"{width}x{height} one; place the hints on this photo in `colorize studio`")
            hints = from_points(points, (height, width), size)
        for text, (x, y, _) in zip(self.texts, self.points):
            if x >= width or y >= height:
                raise HintError(f"--hint {text!r}: {x},{y} is outside the {width}x{height} image (pixels from the top-left corner)")
        if self.points:
            hints = combine(hints, from_points(self.points, image.shape[:2], self.size))
        return dataclasses.replace(hints, reach=self.reach, reference=self.reference)

    def describe(self) -> str:
        """What an output records as its hints (so a rerun with other hints is not taken as done)."""
        import hashlib

        parts = []
        if self.marks_path is not None:
            content = repr(self.file_points).encode() if self.file_points is not None else np.ascontiguousarray(self.marks).tobytes()
            digest = hashlib.sha256(content).hexdigest()[:12]
            parts.append(f"{self.marks_path.name} ({digest})")
        parts += self.texts
        text = "; ".join(parts) + (f"; size {self.size}" if self.texts else "") + (f"; reach {self.reach:g}" if self.reach != REACH else "")
        return text + (f"; reference {self.reference.describe()}" if self.reference is not None else "")


# -- propagation -------------------------------------------------------------------------------------

def _levin_weights(lightness: np.ndarray, square: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Affinities between horizontal (h, w-1) and vertical (h-1, w) neighbours of an L image on the
    working grid; `square`, the mean of L^2 over each working pixel, makes the window variance that of
    the full-resolution L (texture finer than the grid counts)."""
    lum = lightness.astype(np.float64)
    square = lum * lum if square is None else square.astype(np.float64)
    mean = cv2.boxFilter(lum, -1, (3, 3), borderType=cv2.BORDER_REFLECT)
    variance = np.maximum(cv2.boxFilter(square, -1, (3, 3), borderType=cv2.BORDER_REFLECT) - mean * mean, 0.0)
    dx2 = np.square(lum[:, 1:] - lum[:, :-1])
    dy2 = np.square(lum[1:] - lum[:-1])
    nearest = np.full(lum.shape, np.inf)  # squared L difference to each pixel's most similar neighbour
    for diff, here, there in ((dx2, np.s_[:, :-1], np.s_[:, 1:]), (dy2, np.s_[:-1], np.s_[1:])):
        nearest[here] = np.minimum(nearest[here], diff)
        nearest[there] = np.minimum(nearest[there], diff)
    nearest[~np.isfinite(nearest)] = 0.0
    # Levin et al.'s scale: 0.6 x the local variance, at least enough for the nearest neighbour to weigh
    # 0.01; then kept within [AFFINITY_FLOOR, AFFINITY_CAP]: the floor lets colour flow through film grain
    # and JPEG noise, the cap keeps a big step of L a firm barrier (with the variance alone, any step
    # edge, faint or strong, gets the same weight exp(-7.5))
    scale = np.clip(np.maximum(0.6 * variance, nearest / np.log(100.0)), AFFINITY_FLOOR, AFFINITY_CAP)
    wx = np.exp(-dx2 / (0.5 * (scale[:, 1:] + scale[:, :-1])))
    wy = np.exp(-dy2 / (0.5 * (scale[1:] + scale[:-1])))
    return wx + 1e-6, wy + 1e-6  # a floor keeps every pixel connected (pure Levin needs it)


def _system(lightness: np.ndarray, square: np.ndarray | None, hint_weight: np.ndarray, target: np.ndarray, lam):
    """The sparse matrix (CSR), right-hand side (n, 2) and diagonal; `lam`: the prior's weight, a number
    or one per working pixel; `hint_weight` (per pixel) in units of MU."""
    import scipy.sparse as sparse

    height, width = lightness.shape
    wx, wy = _levin_weights(lightness, square)
    degree = np.zeros((height, width))
    degree[:, :-1] += wx
    degree[:, 1:] += wx
    degree[:-1] += wy
    degree[1:] += wy
    degree, pinned = degree.ravel(), MU * hint_weight.ravel()
    diagonal = (1.0 + np.ravel(lam) + pinned) * degree
    horizontal = np.zeros((height, width))
    horizontal[:, :-1] = wx
    horizontal = horizontal.ravel()[:-1]
    vertical = wy.ravel()
    matrix = sparse.diags([diagonal, -horizontal, -horizontal, -vertical, -vertical], [0, 1, -1, width, -width],
                          shape=(height * width,) * 2, format="csr")
    rhs = (pinned * degree)[:, None] * target.reshape(-1, 2)
    return matrix, rhs, diagonal


class _TwoLevel:
    """The preconditioner: Jacobi plus an exact coarse correction (z = r / diag + P A_c^-1 P^T r, with P
    piecewise constant on aggregates and A_c = P^T A P, factorised by SuperLU). The aggregates are the
    pieces of each BLOCK x BLOCK cell that strong links (weight > STRONG) hold together, so no aggregate
    straddles an edge of L: with plain square cells the coarse space would tie both sides of every edge
    crossing a cell together, and CG needs hundreds of iterations to undo that. The coarse solve carries
    the long-range propagation that Jacobi alone would need thousands of iterations for."""

    def __init__(self, matrix, diagonal: np.ndarray, shape: tuple[int, int], block: int):
        import scipy.sparse as sparse
        import scipy.sparse.csgraph as csgraph
        import scipy.sparse.linalg as linalg

        height, width = shape
        n = height * width
        rows, cols = np.divmod(np.arange(n), width)
        cell = (rows // block) * (-(-width // block)) + cols // block
        links = []
        for offset in (1, width):  # right and lower neighbours: the matrix holds -w_rs there
            if offset >= n:
                continue
            here = np.arange(n - offset)
            strong = (-matrix.diagonal(offset) > STRONG) & (cell[here] == cell[here + offset])
            links.append((here[strong], here[strong] + offset))
        first = np.concatenate([a for a, _ in links]) if links else np.zeros(0, np.int64)
        second = np.concatenate([b for _, b in links]) if links else np.zeros(0, np.int64)
        graph = sparse.csr_matrix((np.ones(first.size), (first, second)), shape=(n, n))
        count, self.cells = csgraph.connected_components(graph, directed=False)
        self.prolong = sparse.csr_matrix((np.ones(n), (np.arange(n), self.cells)), shape=(n, count))
        self.restrict = self.prolong.T.tocsr()
        self.coarse = linalg.splu((self.restrict @ matrix @ self.prolong).tocsc())
        self.inverse = np.repeat(1.0 / diagonal, 2)

    def coarse_solution(self, rhs: np.ndarray) -> np.ndarray:
        return self.coarse.solve(self.restrict @ rhs)[self.cells]

    def __call__(self, residual: np.ndarray) -> np.ndarray:
        """Flat (2n,) residual -> flat preconditioned residual."""
        return residual * self.inverse + self.coarse_solution(residual.reshape(-1, 2)).reshape(-1)


def _conjugate_gradients(matrix, rhs: np.ndarray, preconditioner: _TwoLevel, iterations: int, tolerance: float) -> np.ndarray:
    """Preconditioned CG for both columns of rhs (n, 2) at once, as one block-diagonal system (so every
    vector operation is on one flat array with scalar coefficients), from the coarse solution."""
    x = preconditioner.coarse_solution(rhs)
    flat = x.reshape(-1)
    residual = (rhs - matrix @ x).reshape(-1)
    z = preconditioner(residual)
    direction = z.copy()
    scratch = np.empty_like(flat)
    rz = _dot(residual, z)
    for _ in range(iterations):
        # z estimates the remaining error in ab units (the hint pixels' huge weights would make a plain
        # residual norm look converged long before the free pixels are)
        if np.sqrt(_dot(z, z) / z.size) <= tolerance:
            break
        step = (matrix @ direction.reshape(-1, 2)).reshape(-1)
        alpha = rz / max(_dot(direction, step), 1e-300)
        flat += np.multiply(direction, alpha, out=scratch)
        residual -= np.multiply(step, alpha, out=scratch)
        z = preconditioner(residual)
        rz_next = _dot(residual, z)
        direction *= rz_next / max(rz, 1e-300)
        direction += z
        rz = rz_next
    return x


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS: a threaded BLAS dot stalls on a busy machine (measured 5x slower)."""
    return float(np.einsum("i,i->", a, b))


def _hint_cells(hints: Hints, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Hints on a (height, width) grid over the image: covered fraction per cell and mean hint ab per cell."""
    full_h, full_w = hints.shape
    cells = (hints.ys.astype(np.int64) * height // full_h) * width + hints.xs.astype(np.int64) * width // full_w
    count = np.bincount(cells, minlength=height * width).astype(np.float64)
    sums = np.stack([np.bincount(cells, hints.ab[:, c].astype(np.float64), height * width) for c in (0, 1)], axis=1)
    mean = sums / np.maximum(count, 1)[:, None]
    fraction = np.minimum(count * (height * width) / (full_h * full_w), 1.0)
    return fraction.reshape(height, width), mean.reshape(height, width, 2)


def _resized(image: np.ndarray, height: int, width: int, interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    out = cv2.resize(image, (width, height), interpolation=interpolation)
    return out[..., None] if out.ndim < image.ndim else out


def working_shape(shape: tuple[int, int], pixels: int = WORK_PIXELS) -> tuple[int, int]:
    height, width = shape
    scale = min(1.0, (pixels / (height * width)) ** 0.5)
    return max(1, round(height * scale)), max(1, round(width * scale))


def working_lightness(lightness_full: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Area averages of L and of L^2 over each pixel of the (height, width) working grid. Area averaging
    is separable, so rows are reduced strip by strip and then columns: no full-size temporary."""
    lightness_full = lightness_full.astype(np.float32, copy=False)
    full_h, full_w = lightness_full.shape
    if (full_h, full_w) == (height, width):
        return lightness_full, np.square(lightness_full)
    narrow = np.empty((2, full_h, width), np.float32)
    for top, bottom in colorspace.strips(full_h, full_w):
        strip = lightness_full[top:bottom]
        narrow[0, top:bottom] = cv2.resize(strip, (width, bottom - top), interpolation=cv2.INTER_AREA)
        narrow[1, top:bottom] = cv2.resize(np.square(strip), (width, bottom - top), interpolation=cv2.INTER_AREA)
    return tuple(cv2.resize(plane, (width, height), interpolation=cv2.INTER_AREA) for plane in narrow)


def geodesic_distance(lightness_work: np.ndarray, hints: Hints, edge_cost: float | None = None,
                      side: int | None = None) -> np.ndarray:
    """Edge-aware distance from the nearest hint, in picture sizes, on the grid of `lightness_work`.

    Computed on a reduced grid (longer side GEODESIC_SIDE, area-averaged L) with 8-neighbour steps:
    a step costs its length plus `edge_cost` pixels per L unit of lightness it crosses, so a flat region
    is near its hint wherever it extends and every edge on the way pushes what lies beyond it further off.
    Multi-source Dijkstra (scipy.sparse.csgraph), then bilinearly resized to the working grid."""
    import scipy.sparse as sparse
    import scipy.sparse.csgraph as csgraph

    edge_cost = GEODESIC_EDGE_COST if edge_cost is None else edge_cost
    height, width = lightness_work.shape
    small_h, small_w = working_shape((height, width), (side or GEODESIC_SIDE) ** 2 * min(height, width) // max(height, width))
    lum = _resized(lightness_work.astype(np.float32), small_h, small_w, cv2.INTER_AREA)
    # smoothed edge-preservingly: texture and grain, which go up and down, mostly cancel (unsmoothed, a
    # hint in grass would hardly leave its pixel) while a step edge stays a step where it is
    lum = cv2.bilateralFilter(lum, 5, GEODESIC_SMOOTH, 2.0).astype(np.float64)
    index = np.arange(small_h * small_w).reshape(small_h, small_w)
    firsts, seconds, costs = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        here = index[: small_h - dy, max(0, -dx): small_w - max(0, dx)]
        there = index[dy:, max(0, dx): small_w - max(0, -dx) or None]
        crossed = np.maximum(np.abs(lum.ravel()[here] - lum.ravel()[there]) - GEODESIC_DEADZONE * np.hypot(dy, dx), 0.0)
        step = np.hypot(dy, dx) + edge_cost * crossed
        firsts.append(here.ravel())
        seconds.append(there.ravel())
        costs.append(step.ravel())
    graph = sparse.csr_matrix((np.concatenate(costs), (np.concatenate(firsts), np.concatenate(seconds))),
                              shape=(index.size,) * 2)
    rows = np.minimum(hints.ys.astype(np.int64) * small_h // hints.shape[0], small_h - 1)
    cols = np.minimum(hints.xs.astype(np.int64) * small_w // hints.shape[1], small_w - 1)
    sources = np.unique(rows * small_w + cols)
    distance = csgraph.dijkstra(graph, directed=False, indices=sources, min_only=True)
    distance = np.where(np.isfinite(distance), distance, 1e6).reshape(small_h, small_w) / max(small_h, small_w)
    return _resized(distance.astype(np.float32), height, width)


def prior_weight(lightness_work: np.ndarray, hints: Hints, reach: float) -> np.ndarray | float:
    """lam per working pixel: 1 / (FADE x longer side)^2 at the hints (their colour fills what they
    connect to), rising as exp(LOCALITY x geodesic distance / reach) away from them, capped at
    e^MAX_EXPONENT: within about `reach` (in picture sizes, edges counting extra) a hint's colour holds,
    beyond it the model's colour does. inf: 0 everywhere (pure Levin)."""
    if not np.isfinite(reach):
        return 0.0
    base = 1.0 / (FADE * max(lightness_work.shape)) ** 2
    distance = geodesic_distance(lightness_work, hints)
    return base * np.exp(np.minimum(LOCALITY * distance / reach, MAX_EXPONENT))


def solve(lightness_work: np.ndarray, prior_ab: np.ndarray | None, hints: Hints, reach: float = REACH,
          square_work: np.ndarray | None = None, guide: tuple[np.ndarray, np.ndarray] | None = None,
          guide_pixels: int = REFERENCE_PIXELS) -> np.ndarray:
    """The correction D (h, w, 2) on the grid of `lightness_work` (see the module docstring).
    `prior_ab`: automatic ab in CIE units at any resolution (bilinearly resized), or None for gray;
    `reach` = inf is pure Levin (no pull back to the prior); `square_work`: mean L^2 per working pixel.
    `guide`: (ab, weight) on the working grid, soft colours (a reference's) that the output is pulled
    towards with `weight` (0..1, times GUIDE_WEIGHT) over a uniform prior, before the hints are
    applied over that result; the hints win where both are. `guide_pixels`: the grid the guide is solved on."""
    height, width = lightness_work.shape
    prior = 0.0 if prior_ab is None else _resized(prior_ab, height, width).astype(np.float64)
    correction = np.zeros((height, width, 2), np.float64)
    if guide is not None:
        # on a coarser grid: the matched colours are no finer than the matching grid, and the hints'
        # solve and the guided up-sampling that follow bring the edges back
        small_h, small_w = working_shape((height, width), guide_pixels)
        guide_ab, guide_weight = (_resized(v, small_h, small_w) for v in guide)
        small_l, small_prior = (_resized(v, small_h, small_w, cv2.INTER_AREA) for v in (lightness_work, prior + np.zeros((height, width, 2))))
        small_square = None if square_work is None else _resized(square_work, small_h, small_w, cv2.INTER_AREA)
        lam = 1.0 / (REFERENCE_REACH * max(small_h, small_w)) ** 2
        correction = _resized(_solve_system(small_l, small_square, GUIDE_WEIGHT * guide_weight / MU, guide_ab - small_prior, lam)
                              .astype(np.float32), height, width).astype(np.float64)
    if len(hints):
        fraction, hint_ab = _hint_cells(hints, height, width)
        lam = prior_weight(lightness_work, hints, reach)
        correction = correction + _solve_system(lightness_work, square_work, fraction, hint_ab - prior - correction, lam)
    return correction.astype(np.float32)


def _solve_system(lightness_work, square_work, weight, target, lam) -> np.ndarray:
    height, width = lightness_work.shape
    matrix, rhs, diagonal = _system(lightness_work, square_work, weight, target, lam)
    preconditioner = _TwoLevel(matrix, diagonal, (height, width), BLOCK)
    return _conjugate_gradients(matrix, rhs, preconditioner, CG_ITERATIONS, CG_TOLERANCE).reshape(height, width, 2)


def _guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """He et al.'s guided filter on the working grid: source ~ a * guide + b per window; returns mean a, b."""
    size = (2 * radius + 1,) * 2

    def box(values):
        return cv2.boxFilter(values, -1, size, borderType=cv2.BORDER_REFLECT)

    guide = guide[:, :, None]
    mean_i, mean_p = box(guide[:, :, 0])[:, :, None], box(source)
    covariance = box(guide * source) - mean_i * mean_p
    variance = box(guide[:, :, 0] * guide[:, :, 0])[:, :, None] - mean_i * mean_i
    a = covariance / (variance + eps)
    b = mean_p - a * mean_i
    return box(a), box(b)


def render(original: np.ndarray, lightness_full: np.ndarray, ab_norm: np.ndarray | None, hints: Hints,
           norm: colorspace.Normalization = colorspace.DEFAULT_NORMALIZATION, reach: float | None = None) -> np.ndarray:
    """The final image with hints: like `colorspace.render` (same size, depth, alpha), with the
    correction D added to the automatic ab and the hint pixels' ab exact. `ab_norm` None: gray prior;
    `reach` None: the hints' own."""
    reach = hints.reach if reach is None else reach
    height, width = lightness_full.shape[:2]
    if tuple(hints.shape) != (height, width):
        raise HintError(f"hints were made for a {hints.shape[1]}x{hints.shape[0]} image, not {width}x{height}")
    prior = None if ab_norm is None else norm.denormalize_ab(np.asarray(ab_norm, dtype=np.float32))
    if hints.empty and prior is not None:
        return colorspace.render(original, lightness_full, ab_norm, norm)
    work_h, work_w = working_shape((height, width))
    work_l, work_square = working_lightness(lightness_full, work_h, work_w)
    guide, guide_pixels = None, REFERENCE_PIXELS
    if hints.reference is not None:
        from colorize_cli import reference

        if isinstance(hints.reference, reference.Matched):  # a video frame's, already matched (reference.Shots)
            guide, guide_pixels = hints.reference.guide(work_l), hints.reference.solve_pixels
        else:
            guide = reference.guide(hints.reference, work_l)
    correction = solve(work_l, prior, hints, reach, work_square, guide, guide_pixels)
    if (work_h, work_w) == (height, width):
        gain_rows, offset_rows = None, colorspace.BilinearRows(correction, width, height)
    else:  # edge-aware up-sampling: D = a * L + b with a, b from the working grid
        gain, offset = _guided_coefficients(work_l, correction, GUIDE_RADIUS, GUIDE_EPS)
        gain_rows, offset_rows = colorspace.BilinearRows(gain, width, height), colorspace.BilinearRows(offset, width, height)
    prior_rows = colorspace.BilinearRows(np.zeros((1, 1, 2), np.float32) if prior is None else prior, width, height)
    channels = 4 if original.ndim == 3 and original.shape[2] == 4 else 3
    out = np.empty((height, width, channels), original.dtype if original.dtype in (np.uint8, np.uint16) else np.float32)
    order = np.argsort(hints.ys, kind="stable")  # hint pixels strip by strip
    ys, xs, hint_ab = hints.ys[order], hints.xs[order], hints.ab[order]
    for top, bottom in colorspace.strips(height, width):
        lum = np.ascontiguousarray(lightness_full[top:bottom], dtype=np.float32)
        ab = prior_rows(top, bottom) + offset_rows(top, bottom)
        if gain_rows is not None:
            ab += gain_rows(top, bottom) * lum[:, :, None]
        first, last = np.searchsorted(ys, [top, bottom])
        ab[ys[first:last] - top, xs[first:last]] = hint_ab[first:last]  # the user's colour, exactly
        lab = cv2.merge([lum, np.ascontiguousarray(ab[:, :, 0]), np.ascontiguousarray(ab[:, :, 1])])
        out[top:bottom] = colorspace.finish_like(colorspace.lab_to_bgr(lab), original[top:bottom])
    return out
