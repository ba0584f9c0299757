"""x264 presets against quality: what a faster encoder preset would buy the video pipeline, and what it costs.

    .venv/bin/python bench/video_presets.py [--frames 120] [--sizes 1280x720 1920x1080] [--presets ultrafast superfast veryfast faster]

For each size, the default model colorizes a clip (made from ../shared/data/video/havc_bw_clip when present,
else from scikit-image's camera photo) as `colorize CLIP` does; its frames are then encoded by the
pipeline's own sink (`video.PyAVSink`: BGR -> yuv420p included) with each x264 preset at the default
CRF, and the table prints the encoder's CPU ms per frame (summed over its threads), the bitrate, and the
quality of the decoded result against the frames the encoder was given (PSNR over BGR, 8 bits; SSIM of
the luma). Encoding costs depend on the content, so the frames are the pipeline's own colour output.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from colorize_cli import measure, metrics, registry, video, video_formats  # noqa: E402
from colorize_cli.pipeline import Colorizer  # noqa: E402

SHARED_CLIP = ROOT.parent / "shared" / "data" / "video" / "havc_bw_clip" / "sample_bw.mp4"


def encode(frames: list[np.ndarray], out: Path, fmt: video_formats.VideoFormat) -> tuple[float, float]:
    """(CPU ms per frame, wall ms per frame) of writing `frames` through the pipeline's sink."""
    height, width = frames[0].shape[:2]
    wall, cpu = time.perf_counter(), time.process_time()
    sink = video.PyAVSink(out, video.VideoInfo(width, height, 25, None), None, fmt)
    for frame in frames:
        sink.write(frame, None)
    sink.close()
    return 1000 * (time.process_time() - cpu) / len(frames), 1000 * (time.perf_counter() - wall) / len(frames)


def quality(given: list[np.ndarray], out: Path) -> tuple[float, float]:
    """(mean PSNR over BGR, mean luma SSIM) of the decoded file against the frames the encoder was given."""
    back = measure.decoded(out)
    psnr = [metrics.psnr(a, b) for a, b in zip(given, back)]
    ssim = [metrics.ssim(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), cv2.cvtColor(b, cv2.COLOR_BGR2GRAY)) for a, b in zip(given, back)]
    return float(np.mean(psnr)), float(np.mean(ssim))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--sizes", nargs="+", default=["1280x720", "1920x1080"])
    parser.add_argument("--presets", nargs="+", default=["ultrafast", "superfast", "veryfast", "faster"])
    args = parser.parse_args(argv)
    colorizer = Colorizer(args.model, batch_size=8)
    default = video_formats.choose("x.mp4")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# x264 presets: model {colorizer.name}, CRF {default.crf} (the default), {os.cpu_count()} CPUs, load average "
          f"{load:.1f} at the start; the default preset is {default.codec.options['preset']}\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            clip = tmp / f"clip_{width}.mp4"
            origin = measure.make_clip(clip, (width, height), args.frames, SHARED_CLIP)
            # the colour frames as the encoder gets them: FFV1 keeps them exactly
            lossless = video_formats.choose(tmp / "colour.mkv", "ffv1")
            source = video.PyAVSource(str(clip))
            measure.video_end_to_end(colorizer, clip, tmp / "warm.mp4", True)
            sink = video.PyAVSink(tmp / "colour.mkv", source.info, None, lossless)
            video.colorize_video(colorizer, source, sink)
            source.close()
            sink.close()
            given = measure.decoded(tmp / "colour.mkv")
            print(f"## {width}x{height}, {len(given)} frames ({origin})\n")
            print("| x264 preset | encode CPU ms/frame | encode wall ms/frame | kbit/s | PSNR dB | luma SSIM | CPU vs default |")
            print("|---|---|---|---|---|---|---|")
            rows = {}
            for preset in args.presets:
                fmt = dataclasses.replace(default, codec=dataclasses.replace(default.codec, options={**default.codec.options,
                                                                                                     "preset": preset}))
                out = tmp / f"{preset}.mp4"
                cpu, wall = encode(given, out, fmt)
                kbits = out.stat().st_size * 8 / 1000 / (len(given) / 25)
                rows[preset] = (cpu, wall, kbits, *quality(given, out))
            base = rows.get(default.codec.options["preset"], next(iter(rows.values())))[0]
            for preset, (cpu, wall, kbits, psnr, ssim) in rows.items():
                print(f"| {preset} | {cpu:.1f} | {wall:.1f} | {kbits:.0f} | {psnr:.2f} | {ssim:.4f} | {cpu / base:.2f}x |")
            print(flush=True)


if __name__ == "__main__":
    main()
