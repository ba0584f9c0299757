"""Measuring the pipeline: per-stage CPU time, a fresh process's cold start, test clips. What the scripts in bench/
share, here so that each script imports the package only (never another script). Nothing here runs at import:
av, scikit-image and the pipeline are imported by the functions that need them."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# the folder this package is imported from: a fresh interpreter started with it on PYTHONPATH runs this same code
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def stage_cpu_ms(fn, items) -> tuple[float, list]:
    """(CPU ms per item of `fn` alone, its results). Timed in a steady state: each result is dropped
    before the next call, as the pipeline drops it once written, so the allocator reuses memory. Keeping
    every result while timing would make each call page in fresh memory (a 720p frame's float planes:
    several ms of page faults) and charge that to the stage. The results for the next stage are then
    computed again, untimed."""
    items = list(items)
    if not items:
        return 0.0, []
    fn(items[0])  # first-call costs (tables, caches, thread pools) are not the stage's per-item cost
    started = time.process_time()
    for item in items:
        fn(item)
    ms = 1000 * (time.process_time() - started) / len(items)
    return ms, [fn(item) for item in items]


def photo_stages(colorizer, paths: list[Path], out: Path) -> dict[str, float]:
    """CPU ms per image of each stage of colorizing photo files, each stage alone, one image at a time
    (cv2 may still use its own threads)."""
    from colorize_cli import media

    result = {}
    result["decode JPEG"], images = stage_cpu_ms(lambda p: media.read_image(p), paths)
    result["L + resize to the network"], prepared = stage_cpu_ms(colorizer.prepare, images)
    result[f"model, batch 1 ({colorizer.backend})"], abs_ = stage_cpu_ms(lambda p: colorizer.predict_ab(p[1][None])[0], prepared)
    result["ab up-sampling + LAB->BGR + 8-bit"], outputs = stage_cpu_ms(lambda i: colorizer.finish(images[i], prepared[i][0], abs_[i]),
                                                                  range(len(images)))
    out.mkdir(exist_ok=True)
    result["encode JPEG + atomic write"], _ = stage_cpu_ms(lambda i: media.write_image(out / f"{i}.jpg", outputs[i]), range(len(outputs)))
    return result


# -- cold start: each run a new interpreter, as when a script calls `colorize` once per file ----------------------

def child_env() -> dict:
    """This environment for a `colorize` child: this package's source first on PYTHONPATH, and without
    PYTHONDONTWRITEBYTECODE, so that the child runs from compiled bytecode as an installed package does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(SOURCE_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_photo(photo: Path, model: str, backend: str, runs: int = 5) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system, all threads) of `colorize PHOTO -m MODEL --backend BACKEND`,
    each in a fresh process (a first run, not counted, puts the files in the page cache)."""
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


def cold_start_table(model: str, runs: int = 5) -> str:
    """The cold-start table (markdown): a fresh process colorizing one 512x512 gray PNG on LiteRT and on
    TensorFlow (median of `runs`), and `colorize --help`'s time to its first byte."""
    import cv2
    from skimage import data

    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo_512.png"
        cv2.imwrite(str(photo), cv2.resize(data.camera(), (512, 512), interpolation=cv2.INTER_AREA))
        (litert, litert_cpu), (tf, tf_cpu) = one_photo(photo, model, "litert", runs), one_photo(photo, model, "tf", runs)
        help_times = help_first_byte(runs)
    lt, tt = statistics.median(litert), statistics.median(tf)
    lc, tc = statistics.median(litert_cpu), statistics.median(tf_cpu)
    return "\n".join([
        f"## Cold start: a fresh process colorizing one 512x512 PNG with `{model}` (median of {runs})\n",
        "| | LiteRT | TensorFlow | TensorFlow / LiteRT |",
        "|---|---|---|---|",
        f"| one photo, wall s | {lt:.2f} (range {min(litert):.2f}-{max(litert):.2f}) | "
        f"{tt:.2f} (range {min(tf):.2f}-{max(tf):.2f}) | {tt / lt:.1f}x |",
        f"| one photo, CPU s (user + system) | {lc:.2f} | {tc:.2f} | {tc / lc:.1f}x |",
        f"\n`colorize --help`, time to first byte: {1000 * statistics.median(help_times):.0f} ms "
        f"(median of {runs}; range {1000 * min(help_times):.0f}-{1000 * max(help_times):.0f} ms)\n",
    ])


# -- clips ---------------------------------------------------------------------------------------------------------

def bench_colorizers(model: str, backends: list[str], interpreters: list[int], batch_size: int = 8) -> dict:
    """The benches' rows: a Colorizer per backend (LiteRT dropped where the model has no .tflite) and, on
    LiteRT, per interpreter count, by row label ("tf", "litert" or "litert, 2 interpreters")."""
    from colorize_cli import registry
    from colorize_cli.pipeline import Colorizer

    rows = {}
    for backend in [b for b in backends if b != "litert" or registry.get_card(model).has_tflite] or ["tf"]:
        for count in (interpreters if backend == "litert" else [1]):
            label = backend if backend != "litert" or len(interpreters) == 1 else f"litert, {count} interpreter{'s' * (count != 1)}"
            rows[label] = Colorizer(model, batch_size=batch_size, backend=backend, interpreters=count)
    return rows


def make_clip(path: Path, size: tuple[int, int], frames: int, source: Path | None = None) -> str:
    """Write an H.264 clip of `frames` gray frames at `size` (width, height) to `path`: `source`'s frames resized
    where that clip exists, else scikit-image's camera photo panning. Returns where the frames came from."""
    import av
    import cv2

    width, height = size
    if source is not None and source.exists():
        container = av.open(str(source))
        grays = (f.to_ndarray(format="gray") for f in container.decode(video=0))
        origin = f"{source.name} resized"
    else:
        from skimage import data

        camera = data.camera()
        grays = (np.roll(camera, 3 * i, axis=1) for i in range(10**9))
        origin = "scikit-image camera, panning"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i, gray in zip(range(frames), grays):
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return origin


def decoded(path: Path) -> list[np.ndarray]:
    """Every frame of a clip, BGR."""
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def video_end_to_end(colorizer, clip: Path, out: Path, smooth: bool) -> tuple[float, float, int]:
    """(frames/s wall, CPU ms per frame, frames) of decode -> colorize -> encode, as `colorize CLIP` runs it."""
    from colorize_cli import video

    source = video.PyAVSource(str(clip))
    sink = video.PyAVSink(out, source.info, source)
    cpu = time.process_time()
    result = video.colorize_video(colorizer, source, sink, smooth=smooth)
    source.close()
    sink.close()
    return result.frames / result.seconds, 1000 * (time.process_time() - cpu) / result.frames, result.frames
