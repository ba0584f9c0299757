"""Video benchmark: LiteRT against TensorFlow side by side, all figures measured in one run.

    .venv/bin/python bench/video.py [--frames 300] [--model NAME] [--sizes 640x360 1280x720 1920x1080]
                                    [--backends litert tf] [--codecs h264 hevc ...] [--skip-cold-start]
                                    [--interpreters 1 2] [--rounds 3]

For 640x360 and 1280x720 clips (made from ../shared/data/video/havc_bw_clip when present, else from
scikit-image's camera photo) it prints: end-to-end frames/s of `colorize CLIP` (decode -> model ->
encode, H.264 out, smoothing on) with the model on LiteRT and on TensorFlow and their ratio; a naive
per-frame loop (cv2 read -> scikit-image rgb2lab -> model.predict -> lab2rgb -> cv2 write); each stage's
CPU time per frame, their sum and the largest (what binds), with the encode stage of each `--codecs`;
a plain decode -> H.264 transcode of the same clip with the same FFmpeg (no colour) as the floor; and the
flicker metric with and without smoothing. Then the cold start (bench/coldstart.py). `--interpreters 1 2`
gives a LiteRT row for each count of interpreters running batches at once; `--rounds N` measures every row N
times, the rows taking turns in alternating order (so that a machine's changing load favours none), and gives each run.

Rows give wall-clock frames/s and the CPU time per frame summed over all threads (process time): on a
shared machine the wall figure depends on what else runs, the CPU time much less, and 2 x 1000 / CPU ms
is the rate two free cores would sustain if the work spread over both.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage import color  # noqa: E402

from colorize_cli import measure, registry, video, video_formats  # noqa: E402
from colorize_cli.measure import decoded, stage_cpu_ms  # noqa: E402
from colorize_cli.pipeline import Colorizer  # noqa: E402

SHARED_CLIP = ROOT.parent / "shared" / "data" / "video" / "havc_bw_clip" / "sample_bw.mp4"


def transcode(clip: Path, out: Path) -> tuple[float, float]:
    """(frames/s, CPU ms per frame) of a plain decode -> H.264 (veryfast, CRF 18) transcode of `clip` with
    the same FFmpeg, no colour: the floor a colorizing pipeline is compared with."""
    t, cpu, n = time.perf_counter(), time.process_time(), 0
    with av.open(str(clip)) as source, av.open(str(out), "w") as sink:
        decoder = source.streams.video[0]
        decoder.thread_type = "AUTO"
        stream = sink.add_stream("libx264", rate=decoder.average_rate, options={"crf": "18", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = decoder.width, decoder.height, "yuv420p"
        for frame in source.decode(decoder):
            # frames renumbered at the output rate: with pts None the muxer got packets without timestamps
            # past ~256 frames (EINVAL from mux)
            frame.pts, frame.time_base = n, 1 / decoder.average_rate
            for packet in stream.encode(frame):
                sink.mux(packet)
            n += 1
        for packet in stream.encode():
            sink.mux(packet)
    return n / (time.perf_counter() - t), 1000 * (time.process_time() - cpu) / n


def stages(colorizers: dict, clip: Path, codecs: list[str], colorized: list[np.ndarray]) -> dict[str, float]:
    """CPU ms per frame of each stage alone, sequential (cv2 and the codecs may use their own threads).
    The encoders get `colorized`, the pipeline's own output frames: encoding costs depend on the content,
    and the colour stage's frames here (each with one of 8 predictions in turn) change colour every frame
    as no film does, which doubled x264's time at 1080p."""
    out = {}
    started, count = time.process_time(), 0
    with av.open(str(clip)) as c:
        for frame in c.decode(video=0):  # each frame dropped when the next comes, as in the pipeline
            frame.to_ndarray(format="gray")
            count += 1
    out["decode (PyAV, gray)"] = 1000 * (time.process_time() - started) / count
    with av.open(str(clip)) as c:
        grays = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    first = next(iter(colorizers.values()))
    out["L look-up + area resize"], prepared = stage_cpu_ms(first.prepare, grays)
    batches = [np.stack([p[1] for p in prepared[i:i + 8]]) for i in range(0, len(prepared) - 7, 8)]
    for backend, colorizer in colorizers.items():
        ms, _ = stage_cpu_ms(colorizer.predict_ab, batches)
        out[f"model, batch 8 ({backend})"] = ms / 8
    ab = first.predict_ab(batches[0])
    out["ab up-sampling + LAB->BGR + 8-bit"], frames = stage_cpu_ms(lambda i: first.finish(grays[i], prepared[i][0], ab[i % 8]),
                                                                   range(len(grays)))
    for name in codecs:
        fmt = video_formats.choose(f"x{video_formats.default_extension(name)}", name)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.process_time()
            sink = video.PyAVSink(Path(tmp) / f"x{fmt.extension}", video.VideoInfo(grays[0].shape[1], grays[0].shape[0], 25, None),
                                  None, fmt)
            for f in colorized:
                sink.write(f, None)
            sink.close()
            options = ", ".join(f"{k} {v}" for k, v in fmt.options().items() if k in ("preset", "crf", "cpu-used", "profile"))
            out[f"encode {name} ({sink.codec} {options}; BGR->{sink.pix_fmt} included)"] = \
                1000 * (time.process_time() - started) / len(colorized)
    return out


def naive(colorizer: Colorizer, clip: Path, out: Path, limit: int) -> tuple[float, float]:
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    t, cpu, n = time.perf_counter(), time.process_time(), 0
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
    return n / (time.perf_counter() - t), 1000 * (time.process_time() - cpu) / n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--naive-frames", type=int, default=40)
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--sizes", nargs="+", default=["640x360", "1280x720"])
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--backends", nargs="+", default=["litert", "tf"], help="end-to-end rows for these (tf: also the naive loop)")
    parser.add_argument("--codecs", nargs="+", default=["h264"], help="encode stage of each (video_formats.CODECS)")
    parser.add_argument("--interpreters", nargs="+", type=int, default=[2],
                        help="LiteRT rows with these many interpreters running batches at once")
    parser.add_argument("--rounds", type=int, default=1, help="end-to-end runs of each row, the rows taking turns")
    args = parser.parse_args(argv)
    colorizers = measure.bench_colorizers(args.model, args.backends, args.interpreters)
    first_label, first = next(iter(colorizers.items()))
    card = registry.get_card(args.model)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# video benchmark: model {first.name} ({first.card.arch} w{first.card.width} @{first.size}"
          f"{', LiteRT ' + card.tflite['precision'] if card.has_tflite else ''}), {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at the start\n")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            clip = tmp / f"clip_{width}.mp4"
            origin = measure.make_clip(clip, (width, height), args.frames, SHARED_CLIP)
            runs: dict = {label: [] for label in colorizers}
            outfile = {label: tmp / f"out_{i}.mp4" for i, label in enumerate(colorizers)}
            for colorizer in colorizers.values():
                measure.video_end_to_end(colorizer, clip, tmp / "warm.mp4", True)  # graph tracing, weight packing, caches
            for turn in range(args.rounds):  # every other round in reverse order: a load that rises or falls favours none
                for label, colorizer in list(colorizers.items())[::-1 if turn % 2 else 1]:
                    runs[label].append(measure.video_end_to_end(colorizer, clip, outfile[label], True))
            rows = {label: max(r, key=lambda run: run[0]) for label, r in runs.items()}
            loads = os.getloadavg() if hasattr(os, "getloadavg") else ()
            unsmoothed = measure.video_end_to_end(first, clip, tmp / "raw.mp4", False)
            plain = transcode(clip, tmp / "plain.mp4")
            slow = naive(colorizers["tf"], clip, tmp / "naive.mp4", args.naive_frames) if "tf" in colorizers else None
            frames = next(iter(rows.values()))[2]
            print(f"## {width}x{height}, {frames} frames ({origin})\n")
            print("| pipeline | frames/s | CPU ms/frame | 2-core rate |" + (" each run: frames/s |" if args.rounds > 1 else ""))
            print("|---|---|---|---|" + ("---|" if args.rounds > 1 else ""))
            for label, (fps, cpu, _) in rows.items():
                every = " " + " ".join(f"{r[0]:.1f}" for r in runs[label]) + " |" if args.rounds > 1 else ""
                print(f"| colorize on {label}, smoothing on | {fps:.1f} | {cpu:.1f} | {2000 / cpu:.0f} |{every}")
            print(f"| colorize on {first_label}, smoothing off | {unsmoothed[0]:.1f} | {unsmoothed[1]:.1f} | {2000 / unsmoothed[1]:.0f} |")
            if slow:
                print(f"| naive per-frame loop ({args.naive_frames} frames, TF) | {slow[0]:.1f} | {slow[1]:.1f} | {2000 / slow[1]:.0f} |")
            print(f"| plain transcode, no colour (PyAV decode -> libx264 veryfast CRF 18) | {plain[0]:.1f} | {plain[1]:.1f} | "
                  f"{2000 / plain[1]:.0f} |")
            if loads:
                print(f"\nload average after these runs: {loads[0]:.2f} {loads[1]:.2f} {loads[2]:.2f} (1, 5, 15 min)")
            if {'litert', 'tf'} <= rows.keys():
                print(f"\nLiteRT / TensorFlow: {rows['litert'][0] / rows['tf'][0]:.2f}x frames/s, "
                      f"{rows['tf'][1] / rows['litert'][1]:.2f}x less CPU per frame")
            if slow:
                print(f"speed-up of {first_label} over the naive loop: {rows[first_label][0] / slow[0]:.1f}x")
            print(f"colorize / plain transcode: {rows[first_label][1] / plain[1]:.2f}x the CPU per frame\n")
            print("| stage alone | CPU ms/frame | 2-core rate |")
            print("|---|---|---|")
            measured = stages(colorizers, clip, args.codecs, decoded(outfile[first_label]))
            for name, value in measured.items():
                print(f"| {name} | {value:.2f} | {2000 / value:.0f} |")
            pipeline = {k: v for k, v in measured.items() if not k.startswith("model") or f"({first_label})" in k}
            encodes = [k for k in pipeline if k.startswith("encode")]
            pipeline = {k: v for k, v in pipeline.items() if k not in encodes[1:]}  # the first codec's encoder
            total = sum(pipeline.values())
            binds = max(pipeline, key=pipeline.get)
            print(f"\nsum of one frame's stages ({first_label}, {args.codecs[0]}): {total:.1f} ms CPU = {2000 / total:.0f} fps on two "
                  f"free cores at best; the largest: {binds} ({pipeline[binds]:.1f} ms, {100 * pipeline[binds] / total:.0f} %)")
            print(f"\nflicker (mean |Δab| where L is steady): smoothing on {video.flicker(decoded(outfile[first_label])):.3f}, "
                  f"off {video.flicker(decoded(tmp / 'raw.mp4')):.3f}\n")
            sys.stdout.flush()
    if not args.skip_cold_start:
        print(measure.cold_start_table(args.model, 5), flush=True)


if __name__ == "__main__":
    main()
