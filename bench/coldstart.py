"""Cold start: what one `colorize` call costs in a fresh process, LiteRT vs TensorFlow, measured in one run.

    .venv/bin/python bench/coldstart.py [--model NAME] [--runs 5]

- one photo: `colorize photo.png -o out.png` on a 512x512 gray PNG, wall time from process start to exit
  (median of --runs, after one unmeasured run so that the files are in the page cache), with
  `--backend litert` and `--backend tf`;
- `--help`: the time until its first byte reaches the terminal (median of --runs).

Each run is a new interpreter, as when a script calls `colorize` once per file. PYTHONDONTWRITEBYTECODE is
removed from the child's environment so that it runs from compiled bytecode, as an installed package does.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def make_photo(path: Path) -> Path:
    import cv2
    from skimage import data

    cv2.imwrite(str(path), cv2.resize(data.camera(), (512, 512), interpolation=cv2.INTER_AREA))
    return path


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_photo(photo: Path, model: str, backend: str, runs: int = 5) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system, all threads) of `colorize PHOTO -m MODEL --backend BACKEND`,
    each in a fresh process (first run not counted)."""
    command = [sys.executable, "-m", "colorize_cli", str(photo), "-m", model, "--backend", backend,
               "-o", str(photo.with_name(f"out_{backend}.png")), "--overwrite"]
    times, cpu = [], []
    for i in range(runs + 1):
        started, cpu_before = time.perf_counter(), children_cpu()
        result = subprocess.run(command, env=child_env(), capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
        if i:
            times.append(elapsed)
            cpu.append(children_cpu() - cpu_before)
    return times, cpu


def help_first_byte(runs: int = 5) -> list[float]:
    """Seconds from starting `colorize --help` to the first byte of its output (first run not counted)."""
    times = []
    for i in range(runs + 1):
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "colorize_cli", "--help"], env=child_env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        process.stdout.read(1)
        elapsed = time.perf_counter() - started
        process.stdout.read()
        process.wait()
        if i:
            times.append(elapsed)
    return times


def report(model: str, runs: int = 5) -> None:
    """Print the cold-start table (markdown)."""
    with tempfile.TemporaryDirectory() as tmp:
        photo = make_photo(Path(tmp) / "photo_512.png")
        (litert, litert_cpu), (tf, tf_cpu) = one_photo(photo, model, "litert", runs), one_photo(photo, model, "tf", runs)
        help_times = help_first_byte(runs)
    print(f"## Cold start: a fresh process colorizing one 512x512 PNG with `{model}` (median of {runs})\n")
    print("| | LiteRT | TensorFlow | TensorFlow / LiteRT |")
    print("|---|---|---|---|")
    lt, tt = statistics.median(litert), statistics.median(tf)
    print(f"| one photo, wall s | {lt:.2f} (range {min(litert):.2f}-{max(litert):.2f}) | "
          f"{tt:.2f} (range {min(tf):.2f}-{max(tf):.2f}) | {tt / lt:.1f}x |")
    lc, tc = statistics.median(litert_cpu), statistics.median(tf_cpu)
    print(f"| one photo, CPU s (user + system) | {lc:.2f} | {tc:.2f} | {tc / lc:.1f}x |")
    print(f"\n`colorize --help`, time to first byte: {1000 * statistics.median(help_times):.0f} ms "
          f"(median of {runs}; range {1000 * min(help_times):.0f}-{1000 * max(help_times):.0f} ms)\n")
    sys.stdout.flush()


def main(argv=None):
    sys.path.insert(0, str(ROOT))
    from colorize_cli import registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    report(args.model, args.runs)


if __name__ == "__main__":
    main()
