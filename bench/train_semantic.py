"""Training speed of the default's generator (the semantic generator: frozen ImageNet MobileNetV2 encoder +
U-Net decoder), per input pipeline and precision, measured side by side in one run on this machine.

    .venv/bin/python bench/train_semantic.py --data ../shared/data/train --encoder ../shared/pretrained/mobilenet_v2_1.0_224_quant.tflite
        [--size 192] [--batch-size 16] [--steps 20] [--photos 512] [--objective regression]

Rows: the photos read from their files each step (the trainer before December 2026), the photos decoded
once into RAM (`data.cache_photos`, now the trainer's default), and the same in mixed bfloat16. Real photos,
so the decoding cost is the real one. The first steps (graph tracing) are excluded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from colorize_cli import data, registry, train
from colorize_cli._keras import keras, tf


def measure(card, paths, args, images=None, bf16=False) -> float:
    """Seconds per generator step in the steady state."""
    keras.utils.set_random_seed(0)
    if bf16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = train.build_gan(card, total_steps=1000, decay_fraction=0.0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    dataset = data.make_dataset(paths, args.size, args.batch_size, augment=True, images=images)
    warmup, times = 3, []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 in (warmup, warmup + args.steps):  # after tracing and warm-up .. the end
                times.append(time.perf_counter())

    model.fit(dataset, steps_per_epoch=warmup + args.steps, epochs=1, verbose=0, callbacks=[Clock()])
    return (times[1] - times[0]) / args.steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a folder of colour photos (e.g. ../shared/data/train)")
    parser.add_argument("--encoder", required=True, help="the TFLite classifier the encoder comes from")
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--photos", type=int, default=512, help="photos drawn from --data (every source alike)")
    parser.add_argument("--objective", default="regression", help="regression (stage a) or a GAN objective (e.g. lsgan)")
    args = parser.parse_args(argv)
    paths = data.list_images(args.data)
    paths = paths[:: max(1, len(paths) // args.photos)][: args.photos]
    base = registry.BUILTIN["pix2pix-lsgan"]
    card = registry.ModelCard(**{**base.__dict__, "arch": "semantic", "input_size": args.size, "width": 16, "d_width": 32,
                                 "objective": args.objective, "l1": 1.0 if args.objective == "regression" else 100.0,
                                 "arch_options": {"encoder": args.encoder, "train_encoder_from": 0}})
    load = os.getloadavg()[0]
    print(f"# semantic generator training speed: {args.size} px, batch {args.batch_size}, {args.objective}, "
          f"{len(paths)} real photos, {os.cpu_count()} CPUs, load average {load:.1f} at the start, TensorFlow {tf.__version__}\n")
    started = time.perf_counter()
    images = data.cache_photos(paths, args.size)
    cache_s = time.perf_counter() - started
    print("| input pipeline | precision | s/step | images/s | vs files, float32 |")
    print("|---|---|---|---|---|")
    baseline = None
    for label, cached, bf16 in (("files, decoded every step", False, False), ("decoded once into RAM", True, False),
                                ("decoded once into RAM", True, True)):
        seconds = measure(card, paths, args, images if cached else None, bf16)
        baseline = baseline or seconds
        print(f"| {label} | {'mixed bfloat16' if bf16 else 'float32'} | {seconds:.3f} | {args.batch_size / seconds:.1f} "
              f"| {baseline / seconds:.2f}x |")
        sys.stdout.flush()
    print(f"\ncaching {len(paths)} photos took {cache_s:.1f} s ({cache_s / len(paths) * 1000:.1f} ms per photo); "
          f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
