"""Photo benchmark: model-only frames/s per registered model, end-to-end images/s on a folder of
1024-px JPEGs with the default model, and the ratio to a naive loop, all measured in one run.

    .venv/bin/python bench/photos.py [--images 48] [--repeats 2]

Models without bundled weights are timed with random weights (speed does not depend on them).
The naive loop is what a straightforward script does per image: cv2.imread -> skimage rgb2lab ->
resize -> model.predict -> resize -> skimage lab2rgb -> cv2.imwrite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
from skimage import color, data

from colorize_cli import media, networks, registry
from colorize_cli._keras import tf
from colorize_cli.pipeline import Colorizer


def make_photos(folder: Path, count: int) -> list[Path]:
    """1024x768 JPEGs cut from scikit-image's sample photos (flipped/cropped so they differ)."""
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


def best_of(repeats: int, fn) -> float:
    """Smallest wall time of `repeats` runs (the VM is noisy; the minimum is the least disturbed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def model_fps(generator, size: int, batch: int, calls: int) -> float:
    predict = tf.function(lambda x: generator(x, training=False), input_signature=[tf.TensorSpec([None, size, size, 1], tf.float32)])
    x = np.random.default_rng(0).uniform(-1, 1, (batch, size, size, 1)).astype(np.float32)
    predict(x).numpy()
    predict(x).numpy()
    seconds = best_of(2, lambda: [predict(x).numpy() for _ in range(calls)])
    return batch * calls / seconds


def end_to_end(colorizer: Colorizer, paths: list[Path], out: Path) -> None:
    jobs = media.plan([paths[0].parent], out)
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
    parser.add_argument("--images", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    args = parser.parse_args(argv)

    print(f"# colorize photo benchmark ({os.cpu_count()} CPUs, TensorFlow {tf.__version__})\n")
    print("## Model only (tf.function, frames/s)\n")
    print("| model | network | weights | batch 1 | batch 8 |")
    print("|---|---|---|---|---|")
    for name, card in sorted(registry.list_models().items()):
        if card.has_weights:
            generator, card = registry.load_generator(name)
        else:
            generator = networks.build_generator(card.arch, input_size=card.input_size, width=card.width)
        size = card.input_size
        fps1 = model_fps(generator, size, 1, 20)
        fps8 = model_fps(generator, size, 8, 4)
        print(f"| {name} | {card.arch} w{card.width} @{size} | {'trained' if card.has_weights else 'random'} | {fps1:.1f} | {fps8:.1f} |")
        sys.stdout.flush()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        paths = make_photos(tmp / "in", args.images)
        colorizer = Colorizer(args.model, batch_size=8)
        end_to_end(colorizer, paths[:8], tmp / "warm")  # trace the graph once
        fast = best_of(args.repeats, lambda: end_to_end(colorizer, paths, tmp / f"out{time.perf_counter_ns()}"))
        slow = best_of(1, lambda: naive(colorizer.generator, colorizer.size, paths, tmp / "naive"))
        print(f"\n## End to end: {args.images} grayscale 1024x768 JPEGs -> colour JPEGs, model {colorizer.name}\n")
        print("| pipeline | images/s | ms/image |")
        print("|---|---|---|")
        print(f"| colorize (batched tf.function, OpenCV, 2 worker threads) | {args.images / fast:.1f} | {1000 * fast / args.images:.1f} |")
        print(f"| naive loop (model.predict per image, scikit-image LAB) | {args.images / slow:.1f} | {1000 * slow / args.images:.1f} |")
        print(f"\nspeed-up over the naive loop: {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
