"""Video benchmark, all figures measured in one run on this machine.

    .venv/bin/python bench/video.py [--frames 300] [--model lsgan]

For 640x360 and 1280x720 clips (made from ../shared/data/video/havc_bw_clip when present, else from
scikit-image's camera photo) it prints: end-to-end frames/s of `colorize CLIP` (decode -> model ->
encode, H.264 out), the per-stage rates, a naive per-frame loop (cv2 read -> scikit-image rgb2lab ->
model.predict -> lab2rgb -> cv2 write) and the ratio, and the flicker metric with and without smoothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import color, data

from colorize_cli import colorspace, video
from colorize_cli.pipeline import Colorizer

SHARED_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "video" / "havc_bw_clip" / "sample_bw.mp4"


def make_clip(path: Path, size: tuple[int, int], frames: int) -> str:
    width, height = size
    if SHARED_CLIP.exists():
        source = av.open(str(SHARED_CLIP))
        grays = (f.to_ndarray(format="gray") for f in source.decode(video=0))
        origin = f"{SHARED_CLIP.name} resized"
    else:
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


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:.1f}"


def stages(colorizer: Colorizer, clip: Path) -> dict:
    """Each stage alone, single-threaded, on the clip's frames (frames/s)."""
    t = time.perf_counter()
    with av.open(str(clip)) as c:
        grays = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    out = {"decode (PyAV, gray)": len(grays) / (time.perf_counter() - t)}
    t = time.perf_counter()
    prepared = [colorizer.prepare(g) for g in grays]
    out["pre: L look-up + area resize"] = len(grays) / (time.perf_counter() - t)
    batch = np.stack([p[1] for p in prepared[:8]])
    colorizer.predict_ab(batch)
    t = time.perf_counter()
    for i in range(0, len(prepared) - 7, 8):
        ab = colorizer.predict_ab(np.stack([p[1] for p in prepared[i:i + 8]]))
    out["model (batch 8)"] = 8 * (len(prepared) // 8) / (time.perf_counter() - t)
    t = time.perf_counter()
    frames = [colorizer.finish(g, p[0], ab[0]) for g, p in zip(grays, prepared)]
    out["post: ab resize + LAB->BGR"] = len(grays) / (time.perf_counter() - t)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sink = video.PyAVSink(Path(tmp) / "x.mp4", video.VideoInfo(grays[0].shape[1], grays[0].shape[0], 25, None), None)
        for f in frames:
            sink.write(f, None)
        sink.close()
    out["encode (H.264 veryfast)"] = len(grays) / (time.perf_counter() - t)
    return out


def naive(colorizer: Colorizer, clip: Path, out: Path, limit: int) -> float:
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    t, n = time.perf_counter(), 0
    while n < limit:
        ok, frame = capture.read()
        if not ok:
            break
        lab = color.rgb2lab(frame[:, :, ::-1])
        small = cv2.resize(lab[:, :, 0].astype(np.float32), (colorizer.size, colorizer.size), interpolation=cv2.INTER_AREA)
        ab = colorizer.generator.predict((small / 50 - 1)[None, :, :, None], verbose=0)[0] * 110
        ab = cv2.resize(ab, (frame.shape[1], frame.shape[0]))
        rgb = color.lab2rgb(np.dstack([lab[:, :, 0], ab]))
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (frame.shape[1], frame.shape[0]))
        writer.write(cv2.cvtColor((rgb * 255).round().astype(np.uint8), cv2.COLOR_RGB2BGR))
        n += 1
    writer.release()
    return n / (time.perf_counter() - t)


def end_to_end(colorizer: Colorizer, clip: Path, out: Path, smooth: bool) -> tuple[float, int]:
    source = video.PyAVSource(str(clip))
    sink = video.PyAVSink(out, source.info, source)
    result = video.colorize_video(colorizer, source, sink, smooth=smooth)
    source.close()
    sink.close()
    return result.frames / result.seconds, result.frames


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--naive-frames", type=int, default=60)
    parser.add_argument("--model", default="lsgan")
    args = parser.parse_args(argv)
    colorizer = Colorizer(args.model, batch_size=8)
    print(f"# video benchmark: model {colorizer.name} ({colorizer.card.arch} w{colorizer.card.width} @{colorizer.size}), "
          f"{os.cpu_count()} CPUs, backend TensorFlow (tf.function)\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in [(640, 360), (1280, 720)]:
            clip = tmp / f"clip_{size[0]}.mp4"
            origin = make_clip(clip, size, args.frames)
            end_to_end(colorizer, clip, tmp / "warm.mp4", True)  # warm-up: graph tracing, caches
            fast, frames = end_to_end(colorizer, clip, tmp / "out.mp4", True)
            unsmoothed, _ = end_to_end(colorizer, clip, tmp / "raw.mp4", False)
            slow = naive(colorizer, clip, tmp / "naive.mp4", args.naive_frames)
            print(f"## {size[0]}x{size[1]}, {frames} frames ({origin})\n")
            print("| pipeline | frames/s |")
            print("|---|---|")
            print(f"| colorize, pipelined, smoothing on | {fast:.1f} |")
            print(f"| colorize, pipelined, smoothing off | {unsmoothed:.1f} |")
            print(f"| naive per-frame loop ({args.naive_frames} frames) | {slow:.1f} |")
            print(f"\nspeed-up over the naive loop: {fast / slow:.1f}x\n")
            print("| stage alone (1 thread) | frames/s |")
            print("|---|---|")
            for name, value in stages(colorizer, clip).items():
                print(f"| {name} | {value:.1f} |")
            print(f"\nflicker (mean |Δab| where L is steady): smoothing on {video.flicker(decoded(tmp / 'out.mp4')):.3f}, "
                  f"off {video.flicker(decoded(tmp / 'raw.mp4')):.3f}\n")


if __name__ == "__main__":
    main()
