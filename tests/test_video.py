import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from skimage import data

from colorize_cli import video
from conftest import invoke, make_clip

ROOT = Path(__file__).resolve().parents[1]


def probe(path):
    with av.open(str(path)) as container:
        v = container.streams.video[0]
        frames = sum(1 for _ in container.decode(v))
        audio = [(s.codec_context.name, float(s.duration * s.time_base) if s.duration else None) for s in container.streams.audio]
        return frames, (v.width, v.height), v.average_rate, audio


def test_clip_keeps_frame_count_size_and_rate(tmp_path):
    clip = make_clip(tmp_path / "film.mp4", frames=30)
    result = invoke(clip, "-m", "tiny")
    assert result.exit_code == 0, result.output
    frames, size, rate, audio = probe(tmp_path / "film_color.mp4")
    assert (frames, size, rate, audio) == (30, (96, 64), Fraction(25), [])


def test_audio_track_is_kept(tmp_path):
    clip = make_clip(tmp_path / "talk.mp4", frames=25, audio=True)
    _, _, _, source_audio = probe(clip)
    result = invoke(clip, "-m", "tiny")
    assert result.exit_code == 0 and "with its audio" in result.output
    _, _, _, audio = probe(tmp_path / "talk_color.mp4")
    assert len(audio) == 1 and audio[0][0] == "aac"
    assert audio[0][1] == pytest.approx(source_audio[0][1], abs=0.05)


def test_segment_with_start_and_duration(tmp_path):
    clip = make_clip(tmp_path / "film.mp4", frames=50)
    result = invoke(clip, "-m", "tiny", "--start", "0.4", "--duration", "0.8", "-o", tmp_path / "seg.mp4")
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "seg.mp4")[0] == 20


def test_raw_pipe_round_trip(tmp_path, tiny_models_dir):
    frames = np.stack([data.camera()[i: i + 36, :64] for i in range(7)])
    cmd = [sys.executable, "-m", "colorize_cli", "-", "--raw", "64x36", "-o", "-", "-m", "tiny"]
    env = {"COLORIZE_MODELS_DIR": str(tiny_models_dir), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(cmd, input=frames.tobytes(), capture_output=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert len(out.stdout) == 7 * 36 * 64 * 3
    colour = np.frombuffer(out.stdout, np.uint8).reshape(7, 36, 64, 3)
    gray = colour.astype(int).mean(axis=3)
    assert np.abs(gray - frames).mean() < 8  # the picture is the input's, now in colour


def test_smoothing_lowers_flicker_on_a_static_scene():
    from colorize_cli.pipeline import Colorizer

    colorizer = Colorizer("lsgan", batch_size=4)  # the bundled model: a real colorizer, sensitive to noise
    rng = np.random.default_rng(0)
    still = data.camera()[::4, ::4]
    noisy = [np.clip(still + rng.normal(0, 6, still.shape), 0, 255).astype(np.uint8) for _ in range(12)]

    def run(smoother):
        return [out for _, out, _ in colorizer.run(noisy, load=lambda g: g, ab_hook=smoother)]

    raw, smoothed = video.flicker(run(None)), video.flicker(run(video.TemporalSmoother()))
    assert smoothed < 0.7 * raw


def test_scene_cut_resets_the_average():
    smoother = video.TemporalSmoother(alpha=0.5)
    dark, bright = np.full((32, 32, 1), -0.8, np.float32), np.full((32, 32, 1), 0.8, np.float32)
    red, blue = np.full((32, 32, 2), 0.3, np.float32), np.full((32, 32, 2), -0.3, np.float32)
    for _ in range(5):
        smoother(dark, red)
    blended = smoother(dark, blue)
    assert np.allclose(blended, 0.0)  # same shot: halfway
    after_cut = smoother(bright, blue)
    assert np.allclose(after_cut, blue) and smoother.cuts == 1  # new shot: no colour carried over


def test_unopenable_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video")
    result = invoke(bad, "-m", "tiny")
    assert result.exit_code == 1
    assert "broken.mp4: cannot open video" in result.output
    assert not (tmp_path / "broken_color.mp4").exists()


def test_network_stream_over_http(tmp_path):
    """A stream URL is read through FFmpeg; here an MP4 served by a local HTTP server."""
    import functools
    import http.server
    import threading

    make_clip(tmp_path / "served.mp4", frames=20)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/served.mp4"
        result = invoke(url, "-m", "tiny", "-o", tmp_path / "from_http.mp4")
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "from_http.mp4")[:2] == (20, (96, 64))


class FlakyStreamServer:
    """Serves a clip over HTTP `serves` times, then answers 503: a stream that drops and comes back once."""

    def __init__(self, clip: Path, serves: int):
        import http.server
        import threading

        payload, remaining = clip.read_bytes(), [serves]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if remaining[0] <= 0:
                    self.send_error(503)
                    return
                remaining[0] -= 1
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()  # no Content-Length: a live stream of unknown length
                self.wfile.write(payload)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/live.ts"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


def test_dropped_stream_is_reopened_then_ends_cleanly(tmp_path):
    clip = make_clip(tmp_path / "live.ts", frames=12)
    with FlakyStreamServer(clip, serves=2) as stream:
        source = video.PyAVSource(stream.url, reconnect=3, retry_delay=0.01)
        frames = sum(1 for _ in source.frames())
        source.close()
    assert frames == 24  # both connections' frames
    assert source.reconnects == 3  # one reopen worked, two met the 503
    assert source.error.startswith("stream dropped (") and source.error.endswith("; gave up after 3 reconnect attempt(s)")


def test_reconnect_option_on_the_command_line(tmp_path, tiny_models_dir):
    clip = make_clip(tmp_path / "live.ts", frames=12)
    with FlakyStreamServer(clip, serves=2) as stream:
        result = invoke(stream.url, "-m", "tiny", "--reconnect", "1", "-o", tmp_path / "out.mp4")
    assert result.exit_code == 0, result.output
    assert "gave up after 1 reconnect attempt(s)" in result.output
    assert probe(tmp_path / "out.mp4")[0] == 24


def test_ctrl_c_closes_a_playable_file(tmp_path, tiny_models_dir):
    """SIGINT while a live pipe is being colorized: the frames so far end up in a complete, playable MP4."""
    import os
    import signal
    import threading
    import time

    out = tmp_path / "live.mp4"
    env = {**os.environ, "COLORIZE_MODELS_DIR": str(tiny_models_dir)}
    process = subprocess.Popen([sys.executable, "-m", "colorize_cli", "-", "--raw", "96x64", "-m", "tiny", "--batch-size", "2",
                                "-o", str(out)], stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    frame = np.ascontiguousarray(data.camera()[100:164, 100:196]).tobytes()
    fed = []

    def feed():  # an endless live source, 50 frames/s; writes block once the pipe is full and nobody reads
        try:
            while True:
                process.stdin.write(frame)
                process.stdin.flush()
                fed.append(1)
                time.sleep(0.02)
        except (BrokenPipeError, ValueError, OSError):
            pass

    threading.Thread(target=feed, daemon=True).start()
    partial = tmp_path / ".live.part.mp4"
    deadline = time.time() + 120
    while time.time() < deadline and len(fed) < 60:  # the pipe holds ~10 frames: 60 fed means frames are flowing
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    assert "stopped by Ctrl-C; the file is complete up to there" in " ".join(stderr.decode().split())
    frames, size, rate, _ = probe(out)
    assert frames > 0 and size == (96, 64) and rate == 25
    assert not partial.exists()


def test_a_pipe_that_simply_ends_is_not_called_interrupted(tmp_path, tiny_models_dir):
    import os

    frames = b"".join(np.full((64, 96), 40 * i, np.uint8).tobytes() for i in range(5))
    env = {**os.environ, "COLORIZE_MODELS_DIR": str(tiny_models_dir)}
    done = subprocess.run([sys.executable, "-m", "colorize_cli", "-", "--raw", "96x64", "-m", "tiny", "-o", str(tmp_path / "p.mp4")],
                          input=frames, capture_output=True, env=env)
    assert done.returncode == 0
    text = " ".join(done.stderr.decode().split())
    assert "5 frames colorized" in text and "Ctrl-C" not in text


def test_truncated_video_keeps_what_decodes_and_says_where_it_stopped(tmp_path):
    """A video file cut off at 60 % (index first, as cameras and web videos write it, so it still opens)."""
    whole = tmp_path / "whole.mp4"
    camera = data.camera()
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25, options={"g": "5", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = 192, 128, "yuv420p"
        for i in range(60):
            gray = np.ascontiguousarray(camera[100 + i: 228 + i, 100:292])
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    payload = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(payload[: len(payload) * 6 // 10])
    result = invoke(cut, "-m", "tiny", "-o", tmp_path / "out.mp4")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    written = probe(tmp_path / "out.mp4")[0]
    assert 10 < written < 60
    assert f"{written} frames colorized" in text and f"only {written} of 60 frames could be decoded" in text


def test_zero_frame_video_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.avi"
    with av.open(str(empty), "w") as container:  # a valid AVI with a video stream and no frames
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        container.start_encoding()
    result = invoke(empty, "-m", "tiny")
    text = " ".join(result.output.split())
    assert result.exit_code == 1, text
    assert "empty.avi: no frames could be decoded (an empty or damaged video); nothing written" in text
    assert not (tmp_path / "empty_color.mp4").exists()


def test_python_api_runs_a_video_as_the_command_does(tmp_path):
    """jobs.run_video is the command's video job: the output and its --json record, a rerun that skips, and
    an output made otherwise refused with nothing done."""
    from colorize_cli import jobs

    clip = make_clip(tmp_path / "film.mp4", frames=12)
    target = str(tmp_path / "film_color.mp4")
    outcome = jobs.run_video(str(clip), jobs.Model("tiny"), batch_size=4)
    assert (outcome.status, outcome.target, outcome.frames, outcome.total) == ("done", target, 12, 12)
    assert probe(target)[0] == 12
    assert outcome.record() == {"type": "video", "input": str(clip), "output": target, "status": "done", "frames": 12,
                                "fps": round(outcome.fps, 2), "interrupted": False, "total": 12, "complete": True}
    assert outcome.line()[1].endswith(f" -> {target}")
    made = Path(target).stat().st_mtime_ns
    again = jobs.run_video(str(clip), jobs.Model("tiny"), batch_size=4)
    assert again.status == "skipped" and again.line()[0].startswith(f"Nothing to do: {target} exists, made by ")
    assert again.record() == {"type": "video", "input": str(clip), "output": target, "status": "skipped"}
    with pytest.raises(jobs.VideoInTheWay, match="exists but was made otherwise") as refused:
        jobs.run_video(str(clip), jobs.Model("tiny", saturation=0.5), batch_size=4)
    assert refused.value.record["status"] == "conflict"
    assert Path(target).stat().st_mtime_ns == made  # neither the rerun nor the refusal touched the file
