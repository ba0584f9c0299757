"""Photo benchmark: LiteRT against TensorFlow side by side, all figures measured in one run.

    .venv/bin/python bench/photos.py [--model NAME] [--images 48] [--repeats 2] [--all-models] [--skip-cold-start]
                                     [--backends litert tf] [--interpreters 1 2] [--rounds 3]

1. Cold start (bench/coldstart.py): a fresh process colorizing one 512x512 PNG, and `--help`'s first byte.
2. Model only: images/s of the network alone at batch 1 and 8, TensorFlow (`tf.function`) and LiteRT
   (the card's .tflite, run one image at a time), for --model or, with --all-models, every model with weights.
3. End to end: a folder of 1024x768 gray JPEGs -> colour JPEGs through `Colorizer.run` (decode, L,
   model, ab up-sampling + LAB->BGR, encode; 2 worker threads), with each backend.
4. Per stage, one image at a time: where the time goes.

`--interpreters 1 2` gives an end-to-end LiteRT row for each count of interpreters running batches at once;
`--rounds N` measures every end-to-end row N times, the rows taking turns in alternating order, and gives each run.
`--backends litert` leaves TensorFlow out (its model-only columns, its rows and the naive loop).

Every row gives wall-clock images/s and the CPU time per image summed over all threads (process time):
on a shared machine the wall figure depends on what else runs, the CPU time much less, and
2 x 1000 / CPU ms is the rate two free cores would sustain if the work spread over both. The naive loop
(cv2.imread -> skimage rgb2lab -> model.predict -> skimage lab2rgb -> cv2.imwrite) is the reference a
straightforward script would be.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage import color, data  # noqa: E402

from colorize_cli import measure, media, registry  # noqa: E402
from colorize_cli.pipeline import Colorizer  # noqa: E402


def make_photos(folder: Path, count: int) -> list[Path]:
    """1024x768 gray JPEGs cut from scikit-image's sample photos (flipped/cropped so they differ)."""
    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    paths = []
    for i in range(count):
        rgb = sources[i % len(sources)]
        if i % 2:
            rgb = rgb[:, ::-1]
        big = cv2.resize(rgb, (1024 + 8 * (i % 5), 768 + 8 * (i % 3)), interpolation=cv2.INTER_CUBIC)[: 768, : 1024]
        path = folder / f"photo_{i:03d}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(big, cv2.COLOR_RGB2GRAY), [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
    return paths


class Timed:
    """Best (least disturbed) of `repeats` runs: wall seconds and process CPU seconds of that run."""

    def __init__(self, repeats: int, fn):
        best = None
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            sample = (time.perf_counter() - wall, time.process_time() - cpu)
            best = sample if best is None or sample[0] < best[0] else best
        self.wall, self.cpu = best

    def cells(self, count: int) -> str:
        """'images/s | CPU ms/image | 2-core rate' for `count` items."""
        cpu_ms = 1000 * self.cpu / count
        return f"{count / self.wall:.1f} | {cpu_ms:.1f} | {2000 / cpu_ms:.0f}"


def model_only(colorizer: Colorizer, batch: int, calls: int, repeats: int) -> Timed:
    x = np.random.default_rng(0).uniform(-1, 1, (batch, colorizer.size, colorizer.size, 1)).astype(np.float32)
    colorizer.predict_ab(x)  # graph tracing / XNNPACK weight packing
    return Timed(repeats, lambda: [colorizer.predict_ab(x) for _ in range(calls)])


def end_to_end(colorizer: Colorizer, folder: Path, out: Path) -> None:
    jobs = media.plan([folder], out)
    for job, _, error in colorizer.run(jobs, load=lambda j: media.read_image(j.source), save=lambda j, im: media.write_image(j.target, im)):
        if error:
            raise error


def naive(generator, size: int, paths: list[Path], out: Path) -> None:
    out.mkdir(exist_ok=True)
    for path in paths:
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        lab = color.rgb2lab(rgb)
        small = cv2.resize(lab[:, :, 0].astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        ab = generator.predict((small / 50 - 1)[None, :, :, None], verbose=0)[0] * 110
        ab = cv2.resize(ab, (rgb.shape[1], rgb.shape[0]))
        result = color.lab2rgb(np.dstack([lab[:, :, 0], ab]))
        cv2.imwrite(str(out / path.name), cv2.cvtColor((result * 255).round().astype(np.uint8), cv2.COLOR_RGB2BGR))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--naive-images", type=int, default=12)
    parser.add_argument("--all-models", action="store_true", help="model-only rates for every model with weights")
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--backends", nargs="+", default=["litert", "tf"], help="tf: also its model-only columns and the naive loop")
    parser.add_argument("--interpreters", nargs="+", type=int, default=[2],
                        help="LiteRT end-to-end rows with these many interpreters running batches at once")
    parser.add_argument("--rounds", type=int, default=1, help="end-to-end measurements of each row, the rows taking turns")
    args = parser.parse_args(argv)
    with_tf = "tf" in args.backends

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# colorize photo benchmark: {os.cpu_count()} CPUs, load average {load:.1f} at the start\n")
    if not args.skip_cold_start:
        print(measure.cold_start_table(args.model, 5), flush=True)

    names = [n for n, c in sorted(registry.list_models().items()) if c.runnable] if args.all_models else [args.model]
    print("## Model only: the network alone, images/s (CPU ms per image, all threads)\n")
    print("| model | LiteRT file | TF batch 1 | TF batch 8 | LiteRT batch 1 | LiteRT batch 8 (one at a time) | TF / LiteRT CPU per image, batch 8 |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        cells, tf8 = ["–", "–"], None
        if with_tf:
            tf_run = Colorizer(name, backend="tf")
            tf1, tf8 = model_only(tf_run, 1, 24, args.repeats), model_only(tf_run, 8, 4, args.repeats)
            cells = [f"{24 / tf1.wall:.1f} ({1000 * tf1.cpu / 24:.1f})", f"{32 / tf8.wall:.1f} ({1000 * tf8.cpu / 32:.1f})"]
        card = registry.get_card(name)
        if card.has_tflite:
            lite = Colorizer(name, backend="litert")
            lt1, lt8 = model_only(lite, 1, 24, args.repeats), model_only(lite, 8, 4, args.repeats)
            cells += [f"{24 / lt1.wall:.1f} ({1000 * lt1.cpu / 24:.1f})", f"{32 / lt8.wall:.1f} ({1000 * lt8.cpu / 32:.1f})",
                      f"{tf8.cpu / lt8.cpu:.2f}x" if tf8 else "–"]
            kind = f"{card.tflite['precision']}, {card.tflite['bytes'] / 2**20:.1f} MB"
        else:
            cells, kind = cells + ["–", "–", "–"], "none"
        print(f"| {name} ({card.arch} w{card.width} @{card.input_size}) | {kind} | " + " | ".join(cells) + " |")
        sys.stdout.flush()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        paths = make_photos(tmp / "in", args.images)
        colorizers = measure.bench_colorizers(args.model, args.backends, args.interpreters)
        print(f"\n## End to end: {args.images} gray 1024x768 JPEGs -> colour JPEGs, model {args.model}, "
              f"Colorizer.run (2 worker threads, batch 8)\n")
        print("| backend | images/s | CPU ms/image | 2-core rate |" + (" each round: images/s |" if args.rounds > 1 else ""))
        print("|---|---|---|---|" + ("---|" if args.rounds > 1 else ""))
        rates, timings = {}, {label: [] for label in colorizers}
        for i, colorizer in enumerate(colorizers.values()):
            end_to_end(colorizer, tmp / "in", tmp / f"warm_{i}")  # graph tracing, weight packing, page cache
        for turn in range(args.rounds):  # every other round in reverse order: a load that rises or falls favours none
            for label, colorizer in list(colorizers.items())[::-1 if turn % 2 else 1]:
                timings[label].append(Timed(args.repeats, lambda: end_to_end(colorizer, tmp / "in", tmp / f"out{time.perf_counter_ns()}")))
        for label, runs in timings.items():
            timed = min(runs, key=lambda t: t.wall)
            rates[label] = args.images / timed.wall
            every = " " + " ".join(f"{args.images / t.wall:.1f}" for t in runs) + " |" if args.rounds > 1 else ""
            print(f"| {label} | {timed.cells(args.images)} |{every}")
        if hasattr(os, "getloadavg"):
            print("\nload average after these runs: " + " ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1, 5, 15 min)")
        sys.stdout.flush()
        if {"litert", "tf"} <= rates.keys():
            print(f"\nLiteRT / TensorFlow, end to end: {rates['litert'] / rates['tf']:.2f}x images/s")
        if "tf" in colorizers:
            tf_colorizer = colorizers["tf"]
            slow = Timed(1, lambda: naive(tf_colorizer.generator, tf_colorizer.size, paths[: args.naive_images], tmp / "naive"))
            print(f"\nnaive loop ({args.naive_images} images): {slow.cells(args.naive_images)}; "
                  + ", ".join(f"{b} end to end is {rates[b] / (args.naive_images / slow.wall):.1f}x faster" for b in rates))

        print("\n## Per stage, one image at a time (CPU ms per image)\n")
        one_each: dict = {}  # the first row of each backend: the interpreter count does not change a stage alone
        for label, c in colorizers.items():
            one_each.setdefault(c.backend, (label, c))
        per_stage = {label: measure.photo_stages(c, paths[:16], tmp / f"stage_{i}") for i, (label, c) in enumerate(one_each.values())}
        print("| stage | " + " | ".join(per_stage) + " |")
        print("|---|" + "---|" * len(per_stage))
        rows = dict.fromkeys(k for table in per_stage.values() for k in table)
        for row in rows:
            print(f"| {row} | " + " | ".join(f"{table[row]:.2f}" if row in table else "" for table in per_stage.values()) + " |")


if __name__ == "__main__":
    main()
