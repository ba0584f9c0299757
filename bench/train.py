"""Training throughput per objective, measured in one run on this machine.

    .venv/bin/python bench/train.py [--size 256] [--batch-size 8] [--steps 6] [--width 64]

Random photos are generated in memory-backed temp files, so only compute and the data pipeline are
measured. The first fit() call (graph tracing) is excluded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from colorize_cli import data, registry, train
from colorize_cli._keras import tf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--width", type=int, default=None, help="generator and discriminator width (default: each recipe's)")
    args = parser.parse_args(argv)
    gpus = tf.config.list_physical_devices("GPU")
    print(f"# training throughput, {args.size}x{args.size}, batch {args.batch_size}, {os.cpu_count()} CPUs, "
          f"{len(gpus)} GPU(s), TensorFlow {tf.__version__}\n")
    print("| model | objective | G / D width | images/s | s/step |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(0)
        paths = []
        for i in range(64):
            path = Path(tmp) / f"{i}.jpg"
            cv2.imwrite(str(path), rng.integers(0, 255, (args.size + 32, args.size + 32, 3), dtype=np.uint8))
            paths.append(path)
        for name, base in registry.BUILTIN.items():
            if base.arch == "semantic":  # its pretrained encoder: bench/train_semantic.py
                continue
            card = registry.ModelCard(**{**base.__dict__, "input_size": args.size})
            if args.width:
                card.width = card.d_width = args.width
            model = train.build_gan(card, total_steps=1000, decay_fraction=0.0)
            if model.objective.warmup_critic_steps:  # measure the steady state (n_critic), not the warm-up
                model.objective = model.objective.replace(warmup_until=0, warmup_every=10**9)
            dataset = data.make_dataset(paths, args.size, args.batch_size, augment=True)
            model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
            start = time.perf_counter()
            model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
            seconds = (time.perf_counter() - start) / args.steps
            print(f"| {name} | {card.objective} | {card.width} / {card.d_width if model.discriminator is not None else '-'} "
                  f"| {args.batch_size / seconds:.1f} | {seconds:.2f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
