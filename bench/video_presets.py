"""x264 presets against quality, on colorized frames: CPU ms per frame, bits and PSNR of each preset.

    .venv/bin/python bench/video_presets.py [--size 1920x1080] [--frames 60] [--presets veryfast superfast ultrafast]

At 1080p the encoder is the largest stage (bench/video.py). The frames are the pipeline's own output
(the default model on a panning clip, as bench/video.py makes it), encoded at CRF 18 by `PyAVSink` with
each preset; PSNR is of the decoded result against those frames (Y'CbCr-free: BGR, 8 bits).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from colorize_cli import registry, video, video_formats  # noqa: E402
from colorize_cli.measure import decoded, make_clip, video_end_to_end  # noqa: E402
from colorize_cli.pipeline import Colorizer  # noqa: E402

SHARED_CLIP = ROOT.parent / "shared" / "data" / "video" / "havc_bw_clip" / "sample_bw.mp4"  # as bench/video.py


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--presets", nargs="+", default=["veryfast", "superfast", "ultrafast"])
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    colorizer = Colorizer(registry.DEFAULT_MODEL, batch_size=8)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        origin = make_clip(tmp / "clip.mp4", (width, height), args.frames, SHARED_CLIP)
        video_end_to_end(colorizer, tmp / "clip.mp4", tmp / "colour.mp4", True)
        frames = decoded(tmp / "colour.mp4")
        print(f"## x264 at CRF 18 on {len(frames)} colorized {width}x{height} frames ({origin}, model {colorizer.name})\n")
        print("| preset | CPU ms/frame | kbit/frame | PSNR dB |")
        print("|---|---|---|---|")
        base = video_formats.choose("x.mp4", "h264")
        for preset in args.presets:
            fmt = replace(base, codec=replace(base.codec, options={**base.codec.options, "preset": preset}))
            out = tmp / f"{preset}.mp4"
            started = time.process_time()
            sink = video.PyAVSink(out, video.VideoInfo(width, height, 25, None), None, fmt)
            for frame in frames:
                sink.write(frame, None)
            sink.close()
            ms = 1000 * (time.process_time() - started) / len(frames)
            again = decoded(out)
            mse = np.mean([np.mean((a.astype(np.float32) - b) ** 2) for a, b in zip(frames, again)])
            print(f"| {preset} | {ms:.1f} | {8 * out.stat().st_size / 1000 / len(frames):.0f} | {10 * np.log10(255 ** 2 / mse):.2f} |")


if __name__ == "__main__":
    main()
