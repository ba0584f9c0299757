"""Archive scale benchmark: one folder of photos through the local engine and the Ray engine on this machine,
images/s side by side and the Ray / local wall-time ratio (the Ray instance's start-up measured apart), then
what one photo costs per stage at three photo sizes: the inputs of the cost model in docs/scale.md.

    .venv/bin/python bench/scale.py [--photos 200] [--source DIR] [--model lsgan] [--repeats 2] [--workers N]

Photos: gray JPEG copies of the first --photos images of --source (default: the 200 BSDS500 test photos in
../shared/data/eval/bsds500_test, 481x321), else of scikit-image's samples, written to a temporary folder
(never into the repository). Each engine runs the real command, `colorize DIR -o OUT [--engine ray]`, in
this process: the local engine after one unmeasured run (imports and model file warm), the Ray engine on an
instance started once before (its start-up is reported apart, as the issue asks); a Ray run still includes
starting its actors and loading the model in each, which every `colorize --engine ray` call pays. Then both
as a user runs them, each a new `colorize` process (Python, imports, model), the Ray one joining the
running instance with --address as on a cluster started by `ray start --head`. "first output" is when the
first file appears; "steady" is the rate after it. The best of --repeats runs is kept.

The machine is shared (another process may be training): numbers move with the load average printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "eval" / "bsds500_test"


def make_photos(folder: Path, count: int, source: Path | None) -> list[Path]:
    """`count` gray JPEGs (quality 92) in `folder`, from `source`'s photos or scikit-image's samples."""
    folder.mkdir(parents=True, exist_ok=True)
    if source is not None and source.is_dir():
        from colorize_cli import media

        originals = [cv2.imread(str(p)) for p in media.list_images(source)[:count]]
    else:
        from skimage import data

        samples = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.camera()]
        originals = [cv2.resize(np.atleast_3d(samples[i % len(samples)])[:, :: 1 if i % 2 else -1], (481, 321))
                     for i in range(count)]
    paths = []
    for i in range(count):
        image = originals[i % len(originals)]
        gray = image if image.ndim == 2 or image.shape[2] == 1 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        path = folder / f"photo_{i:04d}.jpg"
        cv2.imwrite(str(path), gray, [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
    return paths


class Run:
    """One `colorize` command, in this process or (`fresh`) in a new one as a user runs it: wall time, and
    when its first output appeared."""

    def __init__(self, args: list[str], out: Path, fresh: bool = False):
        from typer.testing import CliRunner

        from colorize_cli.cli import app

        shutil.rmtree(out, ignore_errors=True)
        first, done = [], threading.Event()

        def watch():
            while not done.is_set() and not first:
                if out.is_dir() and any(p.suffix == ".jpg" for p in out.iterdir()):
                    first.append(time.perf_counter())
                time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        started = time.perf_counter()
        watcher.start()
        if fresh:
            import subprocess

            result = subprocess.run([sys.executable, "-m", "colorize_cli", *args], capture_output=True, text=True)
            code, output = result.returncode, result.stdout + result.stderr
        else:
            result = CliRunner().invoke(app, args, catch_exceptions=False)
            code, output = result.exit_code, result.output
        self.wall = time.perf_counter() - started
        done.set()
        watcher.join()
        if code != 0:
            raise SystemExit(f"colorize {' '.join(args)} failed ({code}):\n{output}")
        self.first = (first[0] - started) if first else self.wall
        self.count = sum(1 for p in out.rglob("*.jpg"))

    @property
    def rate(self) -> float:
        return self.count / self.wall

    @property
    def steady(self) -> float:
        return (self.count - 1) / max(self.wall - self.first, 1e-9)


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.wall)


def stage_table(model: str, photos: list[Path], tmp: Path) -> list[tuple]:
    """Per-stage CPU ms of one photo at three sizes (one thread, `measure.photo_stages` as bench/photos.py),
    and the bytes read and written per photo."""
    from colorize_cli.measure import photo_stages as stages
    from colorize_cli.pipeline import Colorizer

    colorizer = Colorizer(model, batch_size=1)
    rows = []
    base = cv2.imread(str(photos[0]), cv2.IMREAD_UNCHANGED)
    for width, height, label in ((base.shape[1], base.shape[0], "benchmark photo"), (2048, 1536, "3 MP scan"),
                                 (4000, 3000, "12 MP scan")):
        folder = tmp / f"stage_{width}"
        folder.mkdir()
        paths = []
        for i, p in enumerate(photos[:6]):
            image = cv2.resize(cv2.imread(str(p), cv2.IMREAD_UNCHANGED), (width, height), interpolation=cv2.INTER_CUBIC)
            paths.append(folder / f"{i}.jpg")
            cv2.imwrite(str(paths[-1]), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        stages(colorizer, paths[:1], tmp / f"warm_{width}")  # first call: graph tracing, page cache
        result = stages(colorizer, paths, tmp / f"stage_out_{width}")
        read = np.mean([p.stat().st_size for p in paths])
        written = np.mean([p.stat().st_size for p in (tmp / f"stage_out_{width}").iterdir()])
        rows.append((label, f"{width}x{height}", result, read, written))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--model", default="lsgan")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="Ray actors (default: the engine's own sizing)")
    parser.add_argument("--skip-stages", action="store_true")
    args = parser.parse_args(argv)

    from colorize_cli import ray_engine
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries()  # as the command line does: C-level log lines (Ray's core worker, TensorFlow) off the terminal

    load = os.getloadavg()[0]
    print(f"# colorize archive-scale benchmark: {os.cpu_count()} CPUs, load average {load:.1f} at the start, "
          f"nice {os.nice(0)}\n")
    with tempfile.TemporaryDirectory(prefix="colorize-scale-") as tmp:
        tmp = Path(tmp)
        photos = make_photos(tmp / "in", args.photos, args.source)
        size = cv2.imread(str(photos[0]), cv2.IMREAD_UNCHANGED).shape
        origin = args.source if args.source.is_dir() else "scikit-image samples"
        print(f"{len(photos)} gray JPEGs from {origin} ({size[1]}x{size[0]} the first), model {args.model}, batch 8\n")

        common = [str(tmp / "in"), "-m", args.model, "-q"]
        Run(common[:1] + ["-m", args.model, "-q", "-o", str(tmp / "warm")], tmp / "warm")  # imports, model file, page cache
        startup = ray_engine.start_ray()
        import ray

        cpus = ray.cluster_resources().get("CPU", 0)
        address = ray.get_runtime_context().gcs_address  # new processes join this instance, as with `ray start --head`
        ray_args = ["--engine", "ray"] + (["--workers", str(args.workers)] if args.workers else [])
        runs = {key: [] for key in ("local", "ray", "local command", "ray command")}
        for _ in range(args.repeats):  # alternated, so that a change in the machine's load hits both
            runs["local"].append(Run(common + ["-o", str(tmp / "out_local")], tmp / "out_local"))
            runs["ray"].append(Run(common + ["-o", str(tmp / "out_ray")] + ray_args, tmp / "out_ray"))
            runs["local command"].append(Run(common + ["-o", str(tmp / "out_local")], tmp / "out_local", fresh=True))
            runs["ray command"].append(Run(common + ["-o", str(tmp / "out_ray"), "--address", address] + ray_args,
                                           tmp / "out_ray", fresh=True))
        plan = ray_engine.pool_plan(ray.cluster_resources(), args.workers)
        ray.shutdown()
        kept = {key: best(value) for key, value in runs.items()}
        print(f"Ray start-up (a local instance, {cpus:g} CPUs; not in the times below): {startup:.1f} s; "
              f"pool: {plan.actors} actor(s) x {plan.actor_cpus:g} CPUs, {plan.threads} threads each\n")
        print("| engine | how | wall s | images/s | first output s | steady images/s (after the first) |")
        print("|---|---|---|---|---|---|")
        for key, run in kept.items():
            how = ("a new `colorize` process (imports, model load" + (", joining the running Ray instance)" if "ray" in key else ")")
                   if "command" in key else "in this warm process (local: model loaded in it; ray: actors start and load it)")
            print(f"| {key.split()[0]} | {how} | {run.wall:.2f} | {run.rate:.1f} | {run.first:.2f} | {run.steady:.1f} |")
        local, on_ray = kept["local"], kept["ray"]
        command_local, command_ray = kept["local command"], kept["ray command"]
        print(f"\nRay / local after start-up (target <= 1.3x, start-up excluded): {local.steady / on_ray.steady:.2f}x the "
              f"time per photo in this process, {command_local.steady / command_ray.steady:.2f}x as commands")
        print(f"start-up, apart: first output after {on_ray.first:.2f} s (ray, in this process) / {local.first:.2f} s (local), "
              f"{command_ray.first:.2f} s / {command_local.first:.2f} s as commands")
        print(f"whole commands, start-up included: {command_ray.wall / command_local.wall:.2f}x the wall time; in this process: "
              f"{on_ray.wall / local.wall:.2f}x")
        print("every run (s): " + "; ".join(f"{key} {', '.join(f'{r.wall:.2f}' for r in value)}" for key, value in runs.items()))
        per_core = local.rate / os.cpu_count()
        print(f"Local engine: {per_core:.1f} photos/s per core ({os.cpu_count()} cores, end to end, at this load)\n")

        if not args.skip_stages:
            print("## One photo, stage by stage (CPU ms, one at a time; bytes per photo read and written)\n")
            rows = stage_table(args.model, photos, tmp)
            names = list(rows[0][2])
            print("| photo | size | " + " | ".join(names) + " | total CPU ms | photos/s per core | MB read | MB written |")
            print("|---|---|" + "---|" * len(names) + "---|---|---|---|")
            for label, dims, result, read, written in rows:
                total = sum(result.values())
                print(f"| {label} | {dims} | " + " | ".join(f"{result[n]:.1f}" for n in names)
                      + f" | {total:.1f} | {1000 / total:.1f} | {read / 1e6:.2f} | {written / 1e6:.2f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
