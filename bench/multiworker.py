"""Multi-worker training against one process: two `colorize train --strategy multi-worker` processes on
loopback ports (TF_CONFIG) and the same training in one process, split over two replicas (MirroredStrategy
over two logical CPUs) and on one device, all from the same seed and global batch; then how far apart the
exported generators' trainable weights are.

    .venv/bin/python bench/multiworker.py [--steps 4] [--batch-size 4] [--sync-bn]

Differences are shown as the largest absolute weight difference and relative to the update itself
(||w_a - w_b|| / ||w_b - w_init||), with the cosine between the two runs' updates. --sync-bn rebuilds every
BatchNorm with synchronized=True (batch statistics over all replicas) in all the processes, to show what
separates two replicas from one device. Data: 24 small synthetic colour images made here; model: the
colorful recipe at 32 px, width 4 (seconds per step).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

SYNC_BN = ("from colorize_cli import networks; from colorize_cli._keras import keras; "
           "networks._bn = lambda name: keras.layers.BatchNormalization(epsilon=networks.BN_EPSILON, "
           "momentum=networks.BN_MOMENTUM, gamma_initializer=networks.gamma_init(), name=name, synchronized=True); ")
TWO_REPLICAS = ("import tensorflow as tf; cpu = tf.config.list_physical_devices('CPU')[0]; "
                "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2); "
                "from colorize_cli import train; "
                "train.make_strategy = lambda name: tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1']); ")
MAIN = "import sys; from colorize_cli import train; from colorize_cli.cli import main; sys.argv[0] = 'colorize'; main()"


def gradient_bgr(height: int, width: int) -> np.ndarray:
    """A colourful picture: hue sweeps across, brightness down (the tests' sample image, so the numbers in
    docs/scale.md hold)."""
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0.2, 1, height, dtype=np.float32)[:, None]
    bgr = np.stack([x * y, (1 - x) * y, np.full((height, width), 0.5, np.float32) * y], axis=2)
    return (bgr * 255 + 0.5).astype(np.uint8)


def make_photos(folder: Path) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        image = np.roll(gradient_bgr(40 + i, 48), 3 * i, axis=1).astype(int) + rng.integers(-20, 20, (40 + i, 48, 3))
        cv2.imwrite(str(folder / f"c{i:02d}.png"), np.clip(image, 0, 255).astype(np.uint8))


def ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    found = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return found


def flat(path: Path) -> np.ndarray:
    from colorize_cli import registry

    return np.concatenate([np.asarray(v).ravel() for v in registry.load_keras_model(path).trainable_weights])


def initial(steps: int, batch: int, sync_bn: bool) -> np.ndarray:
    """The generator every run starts from (same seed, same import-time initializer seeds)."""
    from colorize_cli import train

    if sync_bn:
        exec(SYNC_BN, {})  # its own namespace: the lambda it installs looks its names up there
    from colorize_cli._keras import keras

    keras.utils.set_random_seed(3)
    cfg = train.TrainConfig(model="colorful", image_size=32, width=4, steps=steps, batch_size=batch, seed=3)
    model = train.build_gan(cfg.card(), steps, cfg.lr_decay, 3)
    return np.concatenate([np.asarray(v).ravel() for v in model.generator.trainable_weights])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--sync-bn", action="store_true")
    args = parser.parse_args(argv)
    setup = SYNC_BN if args.sync_bn else ""
    with tempfile.TemporaryDirectory(prefix="colorize-mw-") as tmp:
        tmp = Path(tmp)
        make_photos(tmp / "photos")
        common = ["train", str(tmp / "photos"), "--recipe", "colorful", "--image-size", "32", "--width", "4",
                  "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--seed", "3",
                  "--checkpoint-every", "1000", "--name", "mw"]
        cluster = {"worker": [f"127.0.0.1:{p}" for p in ports(2)]}
        runs = {}
        for index in range(2):
            env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
            runs[f"worker {index}"] = subprocess.Popen(
                [sys.executable, "-c", setup + MAIN, *common, "--strategy", "multi-worker", "--run", str(tmp / f"run{index}"),
                 "--models-dir", str(tmp / f"worker{index}")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        runs["one process, 2 replicas"] = subprocess.Popen(
            [sys.executable, "-c", setup + TWO_REPLICAS + MAIN, *common, "--strategy", "mirrored", "--run", str(tmp / "run2"),
             "--models-dir", str(tmp / "two")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        runs["one process, 1 device"] = subprocess.Popen(
            [sys.executable, "-c", setup + MAIN, *common, "--strategy", "none", "--run", str(tmp / "run1"),
             "--models-dir", str(tmp / "one")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            for name, process in runs.items():
                log = process.communicate(timeout=900)[0].decode(errors="replace")
                if process.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{log[-3000:]}")
        finally:
            for process in runs.values():
                if process.poll() is None:
                    process.kill()
        weights = {"worker 0 (chief)": flat(tmp / "worker0" / "mw.keras"), "worker 1": flat(tmp / "worker1" / "mw.keras"),
                   "one process, 2 replicas": flat(tmp / "two" / "mw.keras"),
                   "one process, 1 device": flat(tmp / "one" / "mw.keras")}
        start = initial(args.steps, args.batch_size, args.sync_bn)
    chief = weights["worker 0 (chief)"]
    bn = "synchronized BatchNorm" if args.sync_bn else "BatchNorm as shipped (per-replica statistics)"
    print(f"# two workers vs one process: colorful @32 px width 4, {args.steps} steps, global batch {args.batch_size}, {bn}\n")
    print(f"update of the chief's run: largest |dw| {np.abs(chief - start).max():.2e}, ||dw|| {np.linalg.norm(chief - start):.3g}\n")
    print("| chief vs | largest abs weight difference | ||difference|| / ||update|| | cosine of the updates |")
    print("|---|---|---|---|")
    for name, other in weights.items():
        if name == "worker 0 (chief)":
            continue
        update, mine = other - start, chief - start
        cosine = float(update @ mine / max(np.linalg.norm(update) * np.linalg.norm(mine), 1e-30))
        print(f"| {name} | {np.abs(chief - other).max():.2e} | {np.linalg.norm(chief - other) / np.linalg.norm(update):.4f} "
              f"| {cosine:.4f} |")


if __name__ == "__main__":
    main()
