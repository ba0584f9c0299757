"""Evaluation protocol and report.

Protocol (documented in the README): each colour photo is reduced to its own L (CIE lightness), colorized
at full resolution, and compared with the original in 8-bit sRGB. The gray baseline (ab = 0: the
photo's L shown in gray) is always measured alongside, so a model's numbers read as gains over doing
nothing. Metrics per image, then means:

- PSNR (dB, capped at metrics.PSNR_CAP for identical images) and SSIM (scikit-image, RGB, 8-bit range);
- mean CIEDE2000 colour difference (scikit-image);
- colourfulness (Hasler & Suesstrunk) of output and truth, and their ratio;
- AuC of the CDF of per-pixel ab error over thresholds 0..150 (Zhang et al. 2016), in [0, 1];
- with a classifier (`--classifier`, see `recognition`): top-5 agreement with the class it gives the truth,
  and the KL divergence of class distributions truth -> output.

Folders of black-and-white photos (no colour truth) are colorized and shown, and only colourfulness is
measured."""

from __future__ import annotations

import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import colorspace, files, media, metrics

GRAY = "gray baseline"
METRICS = ("psnr", "ssim", "delta_e", "auc", "colorfulness", "truth_colorfulness", "top5", "kl")


@dataclass
class Photo:
    path: Path
    image: np.ndarray  # 8-bit BGR (alpha dropped) or gray
    has_truth: bool


@dataclass
class DatasetResult:
    name: str
    has_truth: bool
    rows: list[dict] = field(default_factory=list)  # one per (model, image)
    speed: dict = field(default_factory=dict)  # model -> images/s
    outputs: dict = field(default_factory=dict)  # model -> list of BGR images (for grids)
    photos: list[Photo] = field(default_factory=list)

    def means(self) -> dict[str, dict]:
        by_model: dict[str, dict] = {}
        for model in dict.fromkeys(r["model"] for r in self.rows):
            rows = [r for r in self.rows if r["model"] == model]
            mean = {k: float(np.mean([r[k] for r in rows])) for k in METRICS if k in rows[0]}
            if "truth_colorfulness" in mean:
                mean["colorfulness_ratio"] = mean["colorfulness"] / mean["truth_colorfulness"]
            mean["images"] = len(rows)
            if model in self.speed:
                mean["images_per_s"] = self.speed[model]
            by_model[model] = mean
        return by_model


def load_photos(folder: Path, limit: int | None = None, seed: int = 0, step=None) -> list[Photo]:
    """Every readable image in `folder` (a seeded random subset of `limit` if given), sorted by name."""
    paths = media.list_images(folder)
    if limit and limit < len(paths):
        paths = sorted(random.Random(seed).sample(paths, limit))
    return read_photos(paths, step)


def read_photos(paths: list[Path], step=None) -> list[Photo]:
    """`step(advance=1, more=0)`, if given, hears of each photo read (`more`: units of work announced)."""
    photos = []
    if step:
        step(0, more=len(paths))
    for path in paths:
        image = media.fit_to_format(media.read_image(path), ".jpg")  # 8-bit, alpha dropped
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        photos.append(Photo(path, image, has_truth=image.ndim == 3 and _chroma(image) >= colorspace.MIN_CHROMA))
        if step:
            step()
    return photos


def _chroma(bgr: np.ndarray) -> float:
    small = cv2.resize(bgr, (64, 64), interpolation=cv2.INTER_AREA)
    lab = colorspace.bgr_to_lab(small)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def ab_error_auc(output_lab: np.ndarray, truth_lab: np.ndarray, max_threshold: int = 150) -> float:
    """Area under the CDF of per-pixel Euclidean ab error, thresholds 0..max (step 1), normalised to [0, 1]."""
    error = np.hypot(output_lab[..., 1] - truth_lab[..., 1], output_lab[..., 2] - truth_lab[..., 2]).ravel()
    counts = np.bincount(np.minimum(np.ceil(error).astype(np.int64), max_threshold + 1), minlength=max_threshold + 2)
    cdf = np.cumsum(counts)[: max_threshold + 1] / error.size  # fraction of pixels with error <= t
    return float(cdf.mean())


def score(output: np.ndarray, truth: np.ndarray | None, full: bool = True) -> dict:
    """All metrics for one 8-bit BGR output against its 8-bit BGR truth (or colourfulness only);
    `full=False`: only what model selection needs (PSNR and colourfulness), several times faster."""
    row = {"colorfulness": metrics.colorfulness(output)}
    if truth is None:
        return row
    if not full:
        return {**row, "psnr": metrics.psnr(output, truth), "truth_colorfulness": metrics.colorfulness(truth)}
    out_lab, truth_lab = colorspace.bgr_to_lab(output), colorspace.bgr_to_lab(truth)
    row.update(psnr=metrics.psnr(output, truth), ssim=metrics.ssim(output, truth),
               delta_e=float(metrics.ciede2000(truth_lab, out_lab).mean()), auc=ab_error_auc(out_lab, truth_lab),
               truth_colorfulness=metrics.colorfulness(truth))
    return row


def gray_baseline(image: np.ndarray) -> np.ndarray:
    """What doing nothing looks like: the photo's own L with ab = 0, as 8-bit BGR."""
    return colorspace.from_float(colorspace.merge_ab(colorspace.lightness(image), np.zeros((1, 1, 2), np.float32)), np.uint8)


def colorize_all(colorizer, photos: list[Photo], step=None) -> tuple[list[np.ndarray], float]:
    """Colorize in memory through the batched pipeline; returns outputs and images/s (decode excluded)."""
    outputs = []
    start = time.perf_counter()
    for _, output, error in colorizer.run(range(len(photos)), load=lambda i: photos[i].image):
        if error is not None:
            raise error
        outputs.append(output)
        if step:
            step()
    return outputs, len(photos) / (time.perf_counter() - start)


def evaluate_dataset(folder: Path, colorizers: list, limit: int | None = None, seed: int = 0,
                     classifier=None, step=None) -> DatasetResult:
    """`step(advance=1, more=0)`: called for every photo read, colorized and scored (for a progress bar)."""
    return evaluate_photos(Path(folder).name, load_photos(folder, limit, seed, step), colorizers, classifier, step=step)


def recognition_scores(classifier, outputs: list[np.ndarray], truth_probabilities: list[np.ndarray]) -> list[dict]:
    """Per photo: does the classifier still find the truth's class in its top 5, and KL truth -> output."""
    from colorize_cli import recognition

    rows = []
    for output, truth in zip(outputs, truth_probabilities):
        probabilities = classifier.probabilities(output)
        rows.append({"top5": float(recognition.agreement(truth, probabilities)),
                     "kl": recognition.kl_divergence(truth, probabilities)})
    return rows


def evaluate_photos(name: str, photos: list[Photo], colorizers: list, classifier=None,
                    full: bool = True, step=None) -> DatasetResult:
    has_truth = bool(photos) and all(p.has_truth for p in photos)
    if step:  # every candidate's photos are scored; the models' are colorized first
        step(0, more=len(photos) * (1 + 2 * len(colorizers)))
    result = DatasetResult(name, has_truth, photos=photos)
    truth_probabilities = [classifier.probabilities(p.image) for p in photos] if classifier is not None and has_truth else None
    candidates = [(GRAY, None)] + [(c.name, c) for c in colorizers]
    with ThreadPoolExecutor(2) as pool:
        for name, colorizer in candidates:
            if colorizer is None:
                outputs = [gray_baseline(p.image) for p in photos]
            else:
                outputs, result.speed[name] = colorize_all(colorizer, photos, step)
            result.outputs[name] = outputs
            truths = [p.image if has_truth else None for p in photos]
            semantic = recognition_scores(classifier, outputs, truth_probabilities) if truth_probabilities else [{}] * len(photos)
            for photo, row, extra in zip(photos, pool.map(score, outputs, truths, [full] * len(photos)), semantic):
                result.rows.append({"dataset": result.name, "model": name, "file": photo.path.name, **row, **extra})
                if step:
                    step()
    return result


# -- pictures -------------------------------------------------------------------------------------

def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Letterbox an image into a width x height white cell."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    scale = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    cell = np.full((height, width, 3), 255, np.uint8)
    y, x = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    cell[y:y + resized.shape[0], x:x + resized.shape[1]] = resized
    return cell


STRIP_HEIGHT = 240  # the docs' before/after strips (the README gallery, bench/hints.py): every cell this tall


def scaled(bgr: np.ndarray, height: int = STRIP_HEIGHT) -> np.ndarray:
    """`bgr` resized to `height`, its aspect kept: a strip's cell."""
    return cv2.resize(bgr, (round(bgr.shape[1] * height / bgr.shape[0]), height), interpolation=cv2.INTER_AREA)


def label(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of `image` with `text` in its top-left corner, white on a black outline: legible on any photo."""
    out = image.copy()
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def stack_rows(rows: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """Strips of unequal width one above the other, left-aligned, padded white to the widest, `gap` px apart."""
    width = max(r.shape[1] for r in rows)
    return np.vstack([cv2.copyMakeBorder(r, 0, gap, 0, width - r.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255))
                      for r in rows])


def comparison_grid(result: DatasetResult, start: int, count: int, cell: tuple[int, int] = (192, 144)) -> np.ndarray:
    """Rows of images; columns: input (gray) | one per model | truth (Figure 6 layout of Fabbri 2017)."""
    width, height = cell
    columns = ["input"] + [m for m in result.outputs if m != GRAY] + (["truth"] if result.has_truth else [])
    header = np.full((28, width * len(columns), 3), 255, np.uint8)
    for i, name in enumerate(columns):
        cv2.putText(header, name[:22], (i * width + 6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    rows = [header]
    for index in range(start, min(start + count, len(result.photos))):
        photo = result.photos[index]
        cells = [_fit(result.outputs[GRAY][index], width, height)]
        cells += [_fit(result.outputs[m][index], width, height) for m in columns[1:] if m in result.outputs]
        if result.has_truth:
            cells.append(_fit(photo.image, width, height))
        rows.append(np.hstack(cells))
    return np.vstack(rows)


PLOT_SKIPPED = ("psnr_vs_colorfulness.png skipped: the plot needs matplotlib, which the light install leaves out: "
                "pip install 'colorize-cli[train]' (or pip install matplotlib)")


def plot_psnr_vs_colorfulness(results: list[DatasetResult], path: Path) -> None:
    """The PSNR-colourfulness scatter; MissingDependencyError (PLOT_SKIPPED) without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        from colorize_cli.errors import MissingDependencyError

        raise MissingDependencyError(PLOT_SKIPPED) from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth_results = [r for r in results if r.has_truth]
    fig, axes = plt.subplots(1, len(truth_results), figsize=(5.5 * len(truth_results), 4.2), squeeze=False)
    for ax, result in zip(axes[0], truth_results):
        means = result.means()
        for model, m in means.items():
            ax.scatter(m["colorfulness"], m["psnr"], s=40)
            ax.annotate(model, (m["colorfulness"], m["psnr"]), textcoords="offset points", xytext=(5, 4), fontsize=8)
        truth = np.mean([r["truth_colorfulness"] for r in result.rows])
        ax.axvline(truth, color="gray", linestyle="--", linewidth=1, label="truth colourfulness")
        ax.set_xlabel("colourfulness (Hasler & Suesstrunk)")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(result.name)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with files.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


# -- files ------------------------------------------------------------------------------------------

def model_records(colorizers: list) -> dict[str, dict]:
    """What each evaluated model was, for metrics.json: its weights file's SHA-256 (of the file that ran:
    the .tflite on LiteRT), the backend and the saturation it ran with."""
    from colorize_cli import registry

    records = {}
    for colorizer in colorizers:
        card = colorizer.card
        if colorizer.backend == "litert":
            sha, path = card.tflite.get("sha256"), card.tflite_path
        else:
            sha, path = card.sha256, card.weights_path
        if not sha and path is not None and Path(path).is_file():
            sha = registry.file_sha256(path)
        records[colorizer.name] = {"weights_sha256": sha, "backend": colorizer.backend, "saturation": colorizer.saturation,
                                   "arch": card.arch, "input_size": card.input_size}
    return records


REPORT_FILES = ("metrics.json", "metrics.csv", "report.md")


def existing_report(out: Path) -> list[Path]:
    """The files of an earlier report in `out` (what writing one there would replace)."""
    out = Path(out)
    return [p for p in [*(out / name for name in REPORT_FILES), *sorted(out.glob("grid_*.png")),
                        out / "psnr_vs_colorfulness.png"] if p.is_file()]


def write_report(results: list[DatasetResult], out: Path, grid_rows: int = 8, note=None, models: dict | None = None) -> list[Path]:
    """metrics.json, metrics.csv, report.md, comparison grids and the PSNR-colourfulness plot; returns the files.
    Every file is written atomically (see `files`); metrics.json records the tool's version and `models`
    (see `model_records`). Without matplotlib the plot is left out and says so in one line: `note(PLOT_SKIPPED)`
    (default: on stderr) and in report.md. Grids of an earlier report that this one does not make are removed,
    so the folder holds one report."""
    import csv
    import io
    import json

    from colorize_cli import __version__
    from colorize_cli.errors import MissingDependencyError

    out.mkdir(parents=True, exist_ok=True)
    stale = set(existing_report(out))
    written = []
    summary = {r.name: {"has_truth": r.has_truth, "means": r.means()} for r in results}
    record = {"tool": f"colorize {__version__}", "protocol": PROTOCOL, "models": models or {}, "datasets": summary,
              "images": [row for r in results for row in r.rows]}
    files.write_atomic(out / "metrics.json", (json.dumps(record, indent=2) + "\n").encode())
    written.append(out / "metrics.json")
    fields = ["dataset", "model", "file", *METRICS]
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=fields)
    writer.writeheader()
    for r in results:
        writer.writerows({k: row.get(k, "") for k in fields} for row in r.rows)
    files.write_atomic(out / "metrics.csv", table.getvalue().encode())
    written.append(out / "metrics.csv")
    lines = ["# colorize eval", "", PROTOCOL, ""]
    for r in results:
        grids = []
        for g, start in enumerate(range(0, len(r.photos), grid_rows), start=1):
            path = out / f"grid_{r.name}_{g:02d}.png"
            files.write_atomic(path, cv2.imencode(".png", comparison_grid(r, start, grid_rows))[1].tobytes())
            grids.append(path)
        written += grids
        lines += [f"## {r.name}", "", markdown_table(r), ""]
        if not r.has_truth:
            lines += ["No colour truth in this folder (black-and-white photos): only colourfulness is measured.", ""]
        lines += [f"![{p.stem}]({p.name})" for p in grids] + [""]
    if any(r.has_truth for r in results):
        try:
            plot_psnr_vs_colorfulness(results, out / "psnr_vs_colorfulness.png")
        except MissingDependencyError as exc:
            (note or (lambda text: print(text, file=sys.stderr)))(str(exc))
            lines += ["## PSNR against colourfulness", "", str(exc), ""]
        else:
            written.append(out / "psnr_vs_colorfulness.png")
            lines += ["## PSNR against colourfulness", "", "![psnr vs colourfulness](psnr_vs_colorfulness.png)", ""]
    files.write_atomic(out / "report.md", "\n".join(lines).encode())
    written.append(out / "report.md")
    for path in stale - set(written):  # e.g. grids of a folder or a model that this report does not have
        path.unlink(missing_ok=True)
    return written


PROTOCOL = ("Protocol: each photo is reduced to its own L, colorized at full resolution and compared with the original "
            "in 8-bit sRGB. PSNR in dB (capped at 100 for identical images), SSIM (RGB), mean CIEDE2000 ΔE, "
            "AuC of the per-pixel ab-error CDF for thresholds 0-150 (Zhang et al. 2016), colourfulness "
            "(Hasler & Süsstrunk) of output and truth. The gray baseline is the photo's L with ab = 0. "
            "images/s: decode excluded, colorization and merge at full resolution included. With a classifier: "
            "top-5 = share of photos whose truth's top-1 class is in the classifier's top 5 for the output; "
            "KL = mean KL divergence (nats) of its class distributions, truth -> output.")

COLUMNS = [("psnr", "PSNR dB", "{:.2f}"), ("ssim", "SSIM", "{:.4f}"), ("delta_e", "ΔE2000", "{:.2f}"), ("auc", "AuC", "{:.4f}"),
           ("colorfulness", "colourfulness", "{:.1f}"), ("colorfulness_ratio", "of truth", "{:.0%}"), ("top5", "top-5", "{:.1%}"), ("kl", "KL", "{:.2f}"),
           ("images_per_s", "images/s", "{:.1f}")]


def table_rows(result: DatasetResult) -> tuple[list[str], list[list[str]]]:
    means = result.means()
    keys = [c for c in COLUMNS if any(c[0] in m for m in means.values())]
    header = ["model"] + [c[1] for c in keys]
    rows = [[model] + [c[2].format(m[c[0]]) if c[0] in m else "—" for c in keys] for model, m in means.items()]
    return header, rows


def markdown_table(result: DatasetResult) -> str:
    header, rows = table_rows(result)
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows])
