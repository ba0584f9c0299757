"""User-guided colour measured with the SIGGRAPH17 protocol: PSNR against the number of revealed hints.

    .venv/bin/python bench/hints.py [--model NAME] [--sets kodak24 bsds500_test] [--out docs]
    .venv/bin/python bench/hints.py --validation --limit 32 --counts 1 5 10 50 --no-gray \
        --reach 1 2 4 8 --affinity-cap 16      # how the defaults were chosen (docs/hints.md)
    .venv/bin/python bench/hints.py --speed                    # 1 MP photo, 20 hints
    .venv/bin/python bench/hints.py --gallery                  # docs/hints_strip.jpg, docs/hints_reach.jpg

Protocol (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors",
their Figure 4): each colour photo is reduced to its own L; N patches of 5x5 pixels are revealed at
uniformly random places (wholly inside the photo; seeded per photo, and nested: the first N of the
same 50 draws) with the mean true ab of each patch, as a user would give one colour per patch. For
N = 0, 1, 2, 5, 10, 20, 50 the photo is colorized three ways and compared with the original in 8-bit
sRGB exactly as `colorize eval` does (colorize_cli.evaluate / metrics): PSNR and colourfulness.

- automatic: the model alone (the same output at every N);
- hints + model prior: `colorize --hints`, the hints propagated over the model's prediction;
- hints + gray prior: the same propagation with no prior and no pull-back (pure Levin et al. 2004).

`--validation` measures on the training folder's held-out validation split instead (the trainer's own
split, as recipes/validate.py), where the propagation's reach was chosen; the eval sets are only measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli import colorspace, evaluate, hints, metrics, registry  # noqa: E402
from colorize_cli.evaluate import STRIP_HEIGHT, label, scaled, stack_rows  # noqa: E402  (the README gallery's strip helpers)

COUNTS = [0, 1, 2, 5, 10, 20, 50]
PATCH = 5
AUTOMATIC, MODEL_PRIOR, GRAY_PRIOR = "automatic", "hints + model prior", "hints + gray prior (Levin)"


def reveal(truth_lab: np.ndarray, count: int, seed: int) -> hints.Hints:
    """`count` random PATCH x PATCH patches of the truth, each with its mean ab (nested across counts)."""
    height, width = truth_lab.shape[:2]
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, height - PATCH + 1, max(COUNTS))[:count]
    lefts = rng.integers(0, width - PATCH + 1, max(COUNTS))[:count]
    ys, xs, ab = [], [], []
    for top, left in zip(tops, lefts):
        patch_y, patch_x = np.mgrid[top:top + PATCH, left:left + PATCH]
        ys.append(patch_y.ravel())
        xs.append(patch_x.ravel())
        ab.append(np.repeat(truth_lab[top:top + PATCH, left:left + PATCH, 1:].reshape(-1, 2).mean(0, keepdims=True), PATCH * PATCH, 0))
    if not ys:
        return hints.Hints.none((height, width))
    return hints.Hints((height, width), np.concatenate(ys).astype(np.int32), np.concatenate(xs).astype(np.int32),
                       np.concatenate(ab).astype(np.float32))


def measure(colorizer, photos: list[evaluate.Photo], counts, reaches, seed: int = 0, gray: bool = True, progress=True) -> list[dict]:
    """One row per (photo, method, N): psnr, colorfulness, truth_colorfulness."""
    rows = []
    started = time.perf_counter()
    for index, photo in enumerate(photos):
        truth = photo.image
        truth_lab = colorspace.bgr_to_lab(truth)
        lightness, net_input = colorizer.prepare(truth)
        ab = colorizer.predict_ab(net_input[None])[0]
        automatic = colorizer.finish(truth, lightness, ab)
        base = {"file": photo.path.name, "truth_colorfulness": metrics.colorfulness(truth)}

        def add(method, count, output):
            rows.append({**base, "method": method, "n": count, "psnr": metrics.psnr(output, truth),
                         "colorfulness": metrics.colorfulness(output)})

        for count in counts:
            revealed = reveal(truth_lab, count, seed=seed * 100_003 + index)
            add(AUTOMATIC, count, automatic)
            for reach in reaches:
                add(method_name(reach, reaches), count, hints.render(truth, lightness, ab, revealed, colorizer.norm, reach=reach))
            if gray:
                add(GRAY_PRIOR, count, hints.render(truth, lightness, None, revealed, colorizer.norm, reach=np.inf))
        if progress:
            elapsed = time.perf_counter() - started
            print(f"  {index + 1}/{len(photos)} photos, {elapsed:.0f} s", file=sys.stderr, flush=True)
    return rows


# -- locality: one far-off colour at a random point ---------------------------------------------------

HUES = np.deg2rad(np.arange(0, 360, 30))  # the candidate hint colours: 12 hues ...
CHROMAS = (60, 50, 40, 30, 20)  # ... at the highest of these chromas that sRGB holds at the patch's lightness
MOVED = 10.0  # a pixel "moved" when its ab changed by more than this (CIE units)


def far_hint(truth_lab: np.ndarray, automatic_lab: np.ndarray, seed: int) -> hints.Hints:
    """One PATCH x PATCH hint at a seeded random place, of the in-gamut colour farthest from the
    automatic colour there: what a user who disagrees with the model gives."""
    height, width = truth_lab.shape[:2]
    rng = np.random.default_rng(seed)
    top, left = int(rng.integers(0, height - PATCH + 1)), int(rng.integers(0, width - PATCH + 1))
    patch = np.s_[top:top + PATCH, left:left + PATCH]
    lum = float(truth_lab[patch][..., 0].mean())
    here = automatic_lab[patch][..., 1:].reshape(-1, 2).mean(0)
    candidates = np.array([(c * np.cos(h), c * np.sin(h)) for c in CHROMAS for h in HUES], np.float32)
    lab = np.concatenate([np.full((len(candidates), 1), lum, np.float32), candidates], axis=1)[None]
    back = colorspace.bgr_to_lab(colorspace.lab_to_bgr(lab))[0, :, 1:]
    in_gamut = np.hypot(*(back - candidates).T) < 2.0
    if not in_gamut.any():
        in_gamut[:] = True
    distance = np.where(in_gamut, np.hypot(*(candidates - here).T), -1.0)
    ab = candidates[int(np.argmax(distance))]
    ys, xs = np.mgrid[patch]
    return hints.Hints((height, width), ys.ravel().astype(np.int32), xs.ravel().astype(np.int32),
                       np.repeat(ab[None], PATCH * PATCH, 0))


def locality(colorizer, photos: list[evaluate.Photo], reaches, seed: int = 0, progress=True) -> dict:
    """reach -> per-photo rows {file, moved (share of pixels with |dab| > MOVED), hint_error (mean |dab| at
    the hint pixels, 8-bit output against the hint), far_chroma (distance of the hint from the automatic colour)}."""
    rows = {reach: [] for reach in reaches}
    started = time.perf_counter()
    for index, photo in enumerate(photos):
        truth = photo.image
        lightness, net_input = colorizer.prepare(truth)
        ab = colorizer.predict_ab(net_input[None])[0]
        automatic_lab = colorspace.bgr_to_lab(colorizer.finish(truth, lightness, ab))
        given = far_hint(colorspace.bgr_to_lab(truth), automatic_lab, seed=seed * 100_003 + index)
        for reach in reaches:
            out_lab = colorspace.bgr_to_lab(hints.render(truth, lightness, ab, given, colorizer.norm, reach=reach))
            moved = np.hypot(*(out_lab[..., 1:] - automatic_lab[..., 1:]).transpose(2, 0, 1)) > MOVED
            error = np.hypot(*(out_lab[given.ys, given.xs, 1:] - given.ab).T).mean()
            rows[reach].append({"file": photo.path.name, "moved": float(moved.mean()), "hint_error": float(error),
                                "far": float(np.hypot(*(given.ab[0] - automatic_lab[given.ys, given.xs, 1:].mean(0))))})
        if progress:
            print(f"  locality {index + 1}/{len(photos)} photos, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


def locality_markdown(name: str, rows: dict) -> str:
    lines = [f"**{name}**: one far-off hint ({PATCH}x{PATCH} px) at a random point", "",
             "| reach | photos | moved > 10 ab, median | mean | 90th percentile | Δab at the hint, median | hint's distance from automatic, median |",
             "|---|---|---|---|---|---|---|"]
    for reach, part in rows.items():
        moved = np.array([r["moved"] for r in part])
        lines.append(f"| {reach:g} | {len(part)} | {np.median(moved):.1%} | {moved.mean():.1%} | {np.percentile(moved, 90):.1%} | "
                     f"{np.median([r['hint_error'] for r in part]):.1f} | {np.median([r['far'] for r in part]):.1f} |")
    return "\n".join(lines)


# -- reference: the photo's own truth, mirrored and cropped ------------------------------------------

CROP = 0.8  # the reference is the truth mirrored left-right and cropped to this share of each side (centred)


def mirrored_crop(truth: np.ndarray) -> np.ndarray:
    height, width = truth.shape[:2]
    crop_h, crop_w = round(height * CROP), round(width * CROP)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return np.ascontiguousarray(truth[top:top + crop_h, left:left + crop_w][:, ::-1])


def reference_rows(colorizer, photos: list[evaluate.Photo], progress=True) -> list[dict]:
    """Per photo: PSNR and colourfulness of the automatic result and of the result with the photo's own
    truth, mirrored and cropped, as the reference (same scene, not aligned), and the seconds the reference took."""
    from colorize_cli import reference

    rows = []
    started = time.perf_counter()
    for index, photo in enumerate(photos):
        truth = photo.image
        lightness, net_input = colorizer.prepare(truth)
        ab = colorizer.predict_ab(net_input[None])[0]
        automatic = colorizer.finish(truth, lightness, ab)
        clock = time.perf_counter()
        given = dataclasses.replace(hints.Hints.none(truth.shape[:2]), reference=reference.from_image(mirrored_crop(truth)))
        guided = colorizer.finish(truth, lightness, ab, given)
        seconds = time.perf_counter() - clock
        rows.append({"file": photo.path.name, "automatic": metrics.psnr(automatic, truth), "reference": metrics.psnr(guided, truth),
                     "automatic_colorfulness": metrics.colorfulness(automatic), "reference_colorfulness": metrics.colorfulness(guided),
                     "truth_colorfulness": metrics.colorfulness(truth), "seconds": seconds})
        if progress:
            print(f"  reference {index + 1}/{len(photos)} photos, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


def reference_markdown(name: str, rows: list[dict]) -> str:
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "file"}
    better = sum(r["reference"] > r["automatic"] for r in rows)
    return (f"**{name}** ({len(rows)} photos), reference = the photo's own truth mirrored and cropped to {CROP:.0%}: "
            f"automatic {mean['automatic']:.2f} dB / {mean['automatic_colorfulness'] / mean['truth_colorfulness']:.0%}, "
            f"with the reference {mean['reference']:.2f} dB ({mean['reference'] - mean['automatic']:+.2f}) / "
            f"{mean['reference_colorfulness'] / mean['truth_colorfulness']:.0%} colourfulness; better on {better} of {len(rows)}; "
            f"{mean['seconds']:.2f} s per photo for the reference")


def pan_clip(frames: int = 60, size=(640, 360)) -> list[np.ndarray]:
    """A colour pan with a slow zoom over scikit-image's coffee photo (not a training or eval photo), BGR."""
    from skimage import data

    photo = cv2.resize(data.coffee()[:, :, ::-1], (1000, 667), interpolation=cv2.INTER_CUBIC)
    width, height = size
    clip = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        zoom = 1.0 + 0.15 * t  # the window shrinks by 15 % while it pans
        w, h = round(width * 1.2 / zoom), round(height * 1.2 / zoom)
        left, top = round(t * (photo.shape[1] - w)), round(t * 0.5 * (photo.shape[0] - h))
        clip.append(cv2.resize(photo[top:top + h, left:left + w], size, interpolation=cv2.INTER_AREA))
    return clip


def shot_similarity(photos: list[evaluate.Photo], seed: int = 0) -> str:
    """The video's choice at a cut (`reference.Shots`, SHOT_SIMILARITY): how similar a shot of the same scene
    looks (each photo against its own truth mirrored and cropped, a harder case than the same camera's next
    shot) and an unrelated one (another photo of the set, seeded), and what each cutoff would let through."""
    from colorize_cli import colorspace, reference

    rng = np.random.default_rng(seed)
    same, other = [], []
    for index, photo in enumerate(photos):
        lum = reference._grid(colorspace.bgr_to_lab(photo.image)[..., 0])
        same.append(reference.similarity(reference.match(reference.from_image(mirrored_crop(photo.image)), lum)))
        unrelated = photos[(index + 1 + rng.integers(len(photos) - 1)) % len(photos)]
        other.append(reference.similarity(reference.match(reference.from_image(unrelated.image), lum)))
    lines = [f"shot similarity over {len(photos)} photos (SHOT_SIMILARITY = {reference.SHOT_SIMILARITY:g})\n",
             "| reference | 5th percentile | median | 95th percentile |", "|---|---|---|---|"]
    for name, values in (("same scene: own truth mirrored, cropped", same), ("unrelated photo", other)):
        lines.append(f"| {name} | {np.percentile(values, 5):.2f} | {np.median(values):.2f} | {np.percentile(values, 95):.2f} |")
    lines += ["", "| cutoff | same-scene shots that take their reference | unrelated shots that take one |", "|---|---|---|"]
    for cutoff in (0.35, 0.4, 0.45, 0.5, 0.55):
        lines.append(f"| {cutoff:g} | {np.mean(np.array(same) >= cutoff):.0%} | {np.mean(np.array(other) >= cutoff):.0%} |")
    return "\n".join(lines)


def video_reference(colorizer) -> None:
    """The issue's clip figure: a 60-frame 640x360 pan, its true first frame as the reference; mean PSNR
    over the clip against automatic, per frame through the video pipeline with the video's reference
    handling (`video.VideoGuide`; no temporal smoothing), its frames/s and the CPU ms per frame of each stage."""
    from colorize_cli import reference, video

    truth = pan_clip()
    gray = [colorspace.from_float(colorspace.bgr_to_gray_lab(f), np.uint8) for f in truth]
    spec = hints.HintSpec(None, [], reference=reference.from_image(truth[0]))
    results = {}
    for name, given in (("automatic", None), ("with the first frame as reference", spec)):
        list(colorizer.run(gray[:8], load=lambda frame: frame))  # warm up
        guide = video.VideoGuide(given) if given is not None else None
        hooks = {"ab_hook": guide.ab_hook, "hints_of": guide.hints_of} if guide else {}
        started = time.perf_counter()
        outputs = [out for _, out, _ in colorizer.run(gray, load=lambda frame: frame, **hooks)]
        seconds = time.perf_counter() - started
        psnr = [metrics.psnr(o, t) for o, t in zip(outputs, truth)]
        results[name] = (float(np.mean(psnr)), psnr[0], psnr[-1], len(gray) / seconds)
    print(f"# pan clip: {len(gray)} frames of 640x360 over scikit-image's coffee (15 % zoom), model {colorizer.name}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print("| path | mean PSNR dB | first frame | last frame | frames/s |")
    print("|---|---|---|---|---|")
    for name, (mean, first, last, fps) in results.items():
        print(f"| {name} | {mean:.2f} | {first:.2f} | {last:.2f} | {fps:.1f} |")
    gain = results["with the first frame as reference"][0] - results["automatic"][0]
    print(f"\ngain over the clip: {gain:+.2f} dB (target +3 dB); target >= 15 frames/s with a reference")
    # CPU per frame of each stage, one after the other (in the pipeline they overlap on the worker threads)
    prepared = [colorizer.prepare(frame) for frame in gray]
    clock = time.process_time()
    ab = [colorizer.predict_ab(net_input[None])[0] for _, net_input in prepared]
    network, clock = time.process_time() - clock, time.process_time()
    shots = reference.Shots(spec.reference)
    matched = [shots.guide(colorspace.lightness(frame)) for frame in gray]
    matching, clock = time.process_time() - clock, time.process_time()
    for frame, (lightness, _), ab_one, match in zip(gray, prepared, ab, matched):
        hints.render(frame, lightness, ab_one, dataclasses.replace(hints.Hints.none(frame.shape[:2]), reference=match), colorizer.norm)
    render = time.process_time() - clock
    print(f"CPU ms per frame: network {1000 * network / len(gray):.1f}, matching (every {reference.RECHECK} frames, "
          f"carried by optical flow between) {1000 * matching / len(gray):.1f}, solve and render {1000 * render / len(gray):.1f}")


def method_name(reach: float, reaches) -> str:
    return MODEL_PRIOR if len(reaches) == 1 else f"{MODEL_PRIOR}, reach {reach:g}"


def summary(rows: list[dict], groups: dict[str, str] | None = None) -> dict[str, dict[int, dict]]:
    """method -> N -> mean psnr, colorfulness and colourfulness ratio; with `groups` (file -> source),
    averaged per source first and then over sources with equal weight (the validation rule)."""
    table: dict[str, dict[int, dict]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        table[method] = {}
        for count in sorted({r["n"] for r in rows}):
            chosen = [r for r in rows if r["method"] == method and r["n"] == count]
            parts = {}
            for r in chosen:
                parts.setdefault(groups[r["file"]] if groups else "", []).append(r)
            means = [{k: float(np.mean([r[k] for r in part])) for k in ("psnr", "colorfulness", "truth_colorfulness")}
                     for part in parts.values()]
            mean = {k: float(np.mean([m[k] for m in means])) for k in means[0]}
            mean["colorfulness_ratio"] = mean["colorfulness"] / mean["truth_colorfulness"]
            mean["photos"] = len(chosen)
            table[method][count] = mean
    return table


def per_photo(rows: list[dict], key: str) -> dict:
    """method -> file -> [value at each N, in the order of the counts]."""
    table: dict = {}
    for row in rows:
        table.setdefault(row["method"], {}).setdefault(row["file"], []).append(row[key])
    return table


def rounded(value):
    """Floats to 4 decimals (the per-photo record stays small)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def markdown(name: str, table: dict) -> str:
    counts = list(next(iter(table.values())))
    automatic = table[AUTOMATIC]
    lines = [f"**{name}** ({automatic[counts[0]]['photos']} photos): mean PSNR dB (gain over automatic) / colourfulness as % of the truth's",
             "", "| method | " + " | ".join(f"N = {n}" for n in counts) + " |", "|---" * (len(counts) + 1) + "|"]
    for method, row in table.items():
        cells = []
        for n in counts:
            gain = "" if method == AUTOMATIC else f" ({row[n]['psnr'] - automatic[n]['psnr']:+.2f})"
            cells.append(f"{row[n]['psnr']:.2f}{gain} / {row[n]['colorfulness_ratio']:.0%}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(tables: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(5.2 * len(tables), 4), squeeze=False)
    for ax, (name, table) in zip(axes[0], tables.items()):
        for method, row in table.items():
            counts = list(row)
            xs = [max(n, 0.5) for n in counts]  # N = 0 drawn at 0.5 on the log axis
            ax.plot(xs, [row[n]["psnr"] for n in counts], marker="o", label=method,
                    linestyle="--" if method == AUTOMATIC else "-")
        ax.set_xscale("log")
        ax.set_xticks([max(n, 0.5) for n in counts], [str(n) for n in counts])
        ax.set_xlabel("revealed 5x5 hint patches (N)")
        ax.set_ylabel("mean PSNR (dB)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    from colorize_cli.files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


# -- speed ------------------------------------------------------------------------------------------

def speed(colorizer, repeats: int = 5, count: int = 20) -> None:
    """A 1 MP photo (scikit-image's astronaut at 1224x816, gray) with `count` random --hint patches:
    the automatic path against the same path with hints, best of `repeats`, wall and CPU seconds."""
    from skimage import data

    from colorize_cli import reference

    truth = cv2.resize(data.astronaut()[:, :, ::-1], (1224, 816), interpolation=cv2.INTER_AREA)
    photo = cv2.cvtColor(truth, cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(0)
    points = [(int(rng.integers(0, 1224)), int(rng.integers(0, 816)), tuple(int(v) for v in rng.integers(0, 256, 3)))
              for _ in range(count)]
    marks = hints.from_points(points, photo.shape, hints.DEFAULT_SIZE)

    def timed(function):
        best_wall = best_cpu = np.inf
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            best_wall, best_cpu = min(best_wall, time.perf_counter() - wall), min(best_cpu, time.process_time() - cpu)
        return best_wall, best_cpu

    colorizer.colorize_bgr(photo)  # trace the graph once
    auto_wall, auto_cpu = timed(lambda: colorizer.colorize_bgr(photo))
    hint_wall, hint_cpu = timed(lambda: colorizer.colorize_bgr(photo, hints=marks))
    # the reference is read once per command; matching it to the photo is part of each photo's cost
    matched = dataclasses.replace(hints.Hints.none(photo.shape), reference=reference.from_image(mirrored_crop(truth)))
    ref_wall, ref_cpu = timed(lambda: colorizer.colorize_bgr(photo, hints=matched))
    print(f"# hints speed: {photo.shape[1]}x{photo.shape[0]} gray photo ({photo.size / 1e6:.2f} MP), {count} hints of "
          f"{hints.DEFAULT_SIZE}x{hints.DEFAULT_SIZE} px, model {colorizer.name}, best of {repeats}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    print("| path | wall s | CPU s (this process) |")
    print("|---|---|---|")
    print(f"| automatic | {auto_wall:.3f} | {auto_cpu:.3f} |")
    print(f"| with hints | {hint_wall:.3f} | {hint_cpu:.3f} |")
    print(f"| hints cost | {hint_wall - auto_wall:.3f} | {hint_cpu - auto_cpu:.3f} |")
    print(f"| with a reference (the photo mirrored, 80 %) | {ref_wall:.3f} | {ref_cpu:.3f} |")
    print(f"| reference cost | {ref_wall - auto_wall:.3f} | {ref_cpu - auto_cpu:.3f} |")
    print(f"\nworking grid {'x'.join(map(str, hints.working_shape(photo.shape)[::-1]))}; target: each cost <= 1 s")


# -- gallery ----------------------------------------------------------------------------------------

# photo -> (x, y) points whose true colour is given as a hint: what a user who knew the scene would mark
# (the suit, badge, hair and tank; a neutral wall, so that the suit's orange stays off it; cup, crema, saucer
# and table; fur, eye, nose and the background)
GALLERY = {
    "astronaut": [(90, 330), (330, 330), (170, 385), (412, 80), (230, 60), (485, 180)],
    "coffee": [(150, 300), (450, 250), (200, 240), (300, 150), (550, 100), (50, 350), (290, 40)],
    "chelsea": [(300, 50), (100, 200), (170, 110), (265, 240), (420, 260)],
}


def gallery(colorizer, out: Path, reach_out: Path | None = None) -> None:
    """`out`: automatic | hints shown as dots on the gray input | result, one row per scikit-image photo;
    `reach_out`: the first photo's hints at several --hint-reach values."""
    from skimage import data

    rows = []
    for index, (name, points) in enumerate(GALLERY.items()):
        truth = np.ascontiguousarray(getattr(data, name)()[:, :, ::-1])
        truth_rgb = truth[:, :, ::-1]
        gray = colorspace.from_float(colorspace.bgr_to_gray_lab(truth), np.uint8)
        # each hint: the mean true colour of a 9x9 patch, as a user would pick one colour for it
        given = [(x, y, tuple(int(round(v)) for v in truth_rgb[y - 4:y + 5, x - 4:x + 5].reshape(-1, 3).mean(0))) for x, y in points]
        marks = hints.from_points(given, truth.shape[:2], 9)
        automatic = colorizer.colorize_bgr(gray)
        guided = colorizer.colorize_bgr(gray, hints=marks)
        dots = gray.copy()
        scale = truth.shape[0] / STRIP_HEIGHT
        for x, y, rgb in given:
            cv2.circle(dots, (x, y), round(7 * scale), tuple(int(v) for v in rgb[::-1]), -1, cv2.LINE_AA)
            cv2.circle(dots, (x, y), round(7 * scale), (255, 255, 255), max(1, round(1.5 * scale)), cv2.LINE_AA)
        cells = [label(scaled(automatic), "automatic"), label(scaled(dots), f"{len(given)} hints"),
                 label(scaled(guided), "with the hints")]
        rows.append(np.hstack(cells))
        if index == 0 and reach_out is not None:
            reaches = [label(scaled(colorizer.colorize_bgr(gray, hints=dataclasses.replace(marks, reach=reach))),
                             f"--hint-reach {reach:g}" + (" (default)" if reach == hints.REACH else ""))
                       for reach in (0.25, hints.REACH, 4.0)]
            write_jpeg(np.hstack([label(scaled(truth), "truth"), *reaches]), reach_out)
    write_jpeg(stack_rows(rows), out)


# photo (under the data folder) -> one hint (x, y, colour): a user's "that is navy", on the sweater and the dome
STRIP = {
    "train/clothing_cc0/test__longsleeve__d898c146-ef98-42ef-ad34-062d0a089673.jpg": (0.5, 0.45, "navy"),
    "train/bsds500_trainval/118035.jpg": (0.72, 0.64, "royalblue"),
}


def reference_strip(colorizer, data_dir: Path, out: Path) -> None:
    """input | automatic | one hint (the dot) | reference (the truth mirrored and cropped) | result with the
    reference, one row per STRIP photo (training photos: for showing, not measuring)."""
    from colorize_cli import reference

    rows = []
    for name, (fx, fy, colour) in STRIP.items():
        truth = cv2.imread(str(data_dir / name))
        gray = colorspace.from_float(colorspace.bgr_to_gray_lab(truth), np.uint8)
        height, width = truth.shape[:2]
        x, y = round(fx * width), round(fy * height)
        one = hints.from_points([(x, y, colour)], (height, width), 9)
        hinted = colorizer.colorize_bgr(gray, hints=one)
        scale = height / STRIP_HEIGHT
        rgb = hints.parse_color(colour)
        cv2.circle(hinted, (x, y), round(7 * scale), rgb[::-1], -1, cv2.LINE_AA)
        cv2.circle(hinted, (x, y), round(7 * scale), (255, 255, 255), max(1, round(1.5 * scale)), cv2.LINE_AA)
        ref_image = mirrored_crop(truth)
        given = dataclasses.replace(hints.Hints.none((height, width)), reference=reference.from_image(ref_image))
        ref_cell = np.full_like(truth, 255)
        top, left = (height - ref_image.shape[0]) // 2, (width - ref_image.shape[1]) // 2
        ref_cell[top:top + ref_image.shape[0], left:left + ref_image.shape[1]] = ref_image
        cells = [label(scaled(gray), "input"), label(scaled(colorizer.colorize_bgr(gray)), "automatic"),
                 label(scaled(hinted), f"one hint: {colour}"), label(scaled(ref_cell), "reference"),
                 label(scaled(colorizer.colorize_bgr(gray, hints=given)), "with the reference")]
        rows.append(np.hstack(cells))
    strip = stack_rows(rows)
    strip = cv2.resize(strip, (strip.shape[1] * 2 // 3, strip.shape[0] * 2 // 3), interpolation=cv2.INTER_AREA)
    write_jpeg(strip, out)


def write_jpeg(image: np.ndarray, path: Path) -> None:
    from colorize_cli.files import write_atomic

    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    write_atomic(path, encoded.tobytes())
    print(f"wrote {path}")


# -- main -------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--sets", nargs="+", default=["kodak24", "bsds500_test"], help="folders under --eval-dir")
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "data" / "eval")
    parser.add_argument("--counts", type=int, nargs="*", default=COUNTS, help="N for the SIGGRAPH17 table (none: skip it)")
    parser.add_argument("--reach", type=float, nargs="+", default=[hints.REACH], help="propagation reach(es) for the model prior")
    parser.add_argument("--no-gray", action="store_true", help="skip the gray-prior (pure Levin) rows")
    parser.add_argument("--affinity-floor", type=float, default=hints.AFFINITY_FLOOR, help="bounds of the affinity scale (L^2)")
    parser.add_argument("--affinity-cap", type=float, default=hints.AFFINITY_CAP)
    parser.add_argument("--edge-cost", type=float, nargs="+", default=[hints.GEODESIC_EDGE_COST],
                        help="geodesic cost of crossing lightness (pixels per L unit); several: a grid with --reach")
    parser.add_argument("--locality", action="store_true", help="--validation: also the locality figure (one far-off hint)")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference figures")
    parser.add_argument("--previous", action="store_true",
                        help="the propagation before issue 26: one uniform pull back to the prior over 2 picture sizes")
    parser.add_argument("--limit", type=int, default=None, help="a seeded random subset of N photos per set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the plot and hints_results.json go")
    parser.add_argument("--validation", action="store_true", help="the training folder's validation split instead of --sets")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--gallery", action="store_true")
    parser.add_argument("--video", action="store_true", help="a 60-frame pan with its first frame as reference")
    parser.add_argument("--shots", action="store_true", help="--validation: the similarity a shot's reference must reach")
    args = parser.parse_args(argv)

    from colorize_cli.pipeline import Colorizer

    hints.AFFINITY_FLOOR, hints.AFFINITY_CAP = args.affinity_floor, args.affinity_cap
    hints.GEODESIC_EDGE_COST = args.edge_cost[0]
    if args.previous:  # lam = 1 / (2 x longer side)^2 everywhere: exactly the system solved before
        hints.FADE, hints.LOCALITY, args.reach = 2.0, 0.0, [2.0]
    colorizer = Colorizer(args.model)
    if args.speed:
        return speed(colorizer)
    if args.video:
        return video_reference(colorizer)
    if args.gallery:
        gallery(colorizer, args.out / "hints_strip.jpg", args.out / "hints_reach.jpg")
        return reference_strip(colorizer, args.data.parent, args.out / "hints_reference.jpg")
    print(f"# bench/hints.py: model {colorizer.name} (saturation {colorizer.saturation:g}), patches {PATCH}x{PATCH}, "
          f"seed {args.seed}, reach {', '.join(f'{r:g}' for r in args.reach)}, affinity scale in [{hints.AFFINITY_FLOOR:g}, "
          f"{hints.AFFINITY_CAP:g}], working grid <= {hints.WORK_PIXELS} px\n")
    if args.validation:
        from colorize_cli.selection import validation_photos  # the trainer's own held-out split, as model selection uses

        photos = validation_photos(args.data)
        if args.limit and args.limit < len(photos):
            photos = [photos[i] for i in sorted(np.random.default_rng(args.seed).choice(len(photos), args.limit, replace=False))]
        from colorize_cli import data

        groups = {p.path.name: data.source_of(p.path, args.data) for p in photos}
        if args.shots:
            return print(shot_similarity(photos, args.seed), flush=True)
        for edge_cost in args.edge_cost:
            hints.GEODESIC_EDGE_COST = edge_cost
            if not args.no_reference and edge_cost == args.edge_cost[0]:
                print(reference_markdown("validation split", reference_rows(colorizer, photos)) + "\n", flush=True)
            print(f"## geodesic edge cost {edge_cost:g}\n", flush=True)
            if args.locality:
                print(locality_markdown("validation split", locality(colorizer, photos, args.reach, args.seed)) + "\n", flush=True)
            if args.counts:
                rows = measure(colorizer, photos, args.counts, args.reach, args.seed, gray=not args.no_gray)
                print(markdown(f"validation split, macro average over {len(set(groups.values()))} sources", summary(rows, groups)) + "\n", flush=True)
        return
    tables, results = {}, {}
    for name in args.sets:
        photos = [p for p in evaluate.load_photos(args.eval_dir / name, args.limit, args.seed) if p.has_truth]
        results[name] = {}
        if args.counts:
            rows = measure(colorizer, photos, args.counts, args.reach, args.seed, gray=not args.no_gray)
            tables[name] = summary(rows)
            results[name] = {"summary": {m: {str(n): v for n, v in t.items()} for m, t in tables[name].items()},
                             **{f"{key}_per_photo": per_photo(rows, key) for key in ("psnr", "colorfulness")}}
            print(markdown(name, tables[name]) + "\n", flush=True)
        far = locality(colorizer, photos, args.reach, args.seed)
        print(locality_markdown(name, far) + "\n", flush=True)
        results[name]["locality"] = {f"{reach:g}": part for reach, part in far.items()}
        if not args.no_reference:
            matched = reference_rows(colorizer, photos)
            print(reference_markdown(name, matched) + "\n", flush=True)
            results[name]["reference"] = matched
    args.out.mkdir(parents=True, exist_ok=True)
    if tables:
        plot(tables, args.out / "hints_psnr.png")
        print(f"wrote {args.out / 'hints_psnr.png'}")
    payload = {"model": colorizer.name, "saturation": colorizer.saturation, "reach": args.reach, "seed": args.seed,
               "edge_cost": hints.GEODESIC_EDGE_COST, "patch": PATCH, "counts": args.counts, "sets": results}
    tmp = args.out / ".hints_results.json.part"
    tmp.write_text(json.dumps(rounded(payload), separators=(",", ":")) + "\n")
    os.replace(tmp, args.out / "hints_results.json")
    print(f"wrote {args.out / 'hints_results.json'}")


if __name__ == "__main__":
    main()
