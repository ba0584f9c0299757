"""A video that stops early (Ctrl-C, an error) is kept playable, says in its provenance how far it got, and
is redone by a rerun; an output made with another range, smoothing, codec or quality is never taken as done."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import av
import pytest

from colorize_cli import video
from colorize_cli.errors import ColorizeError
from conftest import AAC_FRAME, beep_clip, invoke, make_clip, sound_of

ROOT = Path(__file__).resolve().parents[1]


def frames_in(path):
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.slow  # two fresh processes (about 10 s each on two busy cores)
def test_ctrl_c_keeps_a_playable_file_marked_incomplete_and_a_rerun_redoes_it(tmp_path, tiny_models_dir):
    clip = beep_clip(tmp_path / "film.mp4", seconds=60)  # 1500 frames with sound
    out = tmp_path / "out.mp4"
    command = [sys.executable, "-m", "colorize_cli", str(clip), "-m", "tiny", "--batch-size", "2", "-o", str(out)]
    env = {**os.environ, "COLORIZE_MODELS_DIR": str(tiny_models_dir), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command + ["--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    for line in process.stdout:  # the first progress event comes with the first frame written
        if json.loads(line)["type"] == "progress":
            break
    process.send_signal(signal.SIGINT)
    events, stderr = process.communicate(timeout=60)
    partial = tmp_path / ".out.part.mp4"
    text = " ".join(stderr.decode().split())
    assert process.returncode == 130, text
    written = frames_in(out)
    assert 0 < written < 1500
    record = video.read_provenance(out)
    assert record["incomplete"] == f"{written} of 1500 frames" and record["model"] == "tiny"
    assert f"stopped by Ctrl-C after {written} frames; kept {out}, marked incomplete" in text
    summary = json.loads(events.splitlines()[-1])
    assert summary["type"] == "summary" and summary["exit_code"] == 130
    assert not partial.exists()
    picture, _, sound, _ = sound_of(out)
    assert sound == pytest.approx(picture, abs=AAC_FRAME)  # as much sound as picture

    again = subprocess.run(command, capture_output=True, env=env, cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr.decode()
    assert f"(redone: the existing file stopped at {written} of 1500 frames)" in " ".join(again.stderr.decode().split())
    assert frames_in(out) == 1500 and "incomplete" not in video.read_provenance(out)


def test_an_error_midway_keeps_what_was_written_marked_incomplete(tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "film.mp4", frames=30, size=(64, 48))
    out = tmp_path / "out.mkv"
    write = video.PyAVSink.write

    def failing(self, image, pts):
        if self.count == 12:
            raise ColorizeError("the encoder gave up (simulated)")
        write(self, image, pts)

    monkeypatch.setattr(video.PyAVSink, "write", failing)
    result = invoke(clip, "-m", "tiny", "-o", out)
    assert result.exit_code == 1
    assert "the encoder gave up (simulated); kept" in " ".join(result.output.split())
    assert frames_in(out) == 12 and video.read_provenance(out)["incomplete"] == "12 of 30 frames"
    monkeypatch.setattr(video.PyAVSink, "write", write)
    assert invoke(clip, "-m", "tiny", "-o", out).exit_code == 0
    assert frames_in(out) == 30 and "incomplete" not in video.read_provenance(out)


@pytest.mark.parametrize("change", [[], ["--start", "0.4"], ["--no-smooth"], ["--crf", "23"], ["--codec", "hevc"]])
def test_a_range_smoothing_codec_or_quality_of_another_run_is_not_done(tmp_path, change):
    clip = make_clip(tmp_path / "film.mp4", frames=30, size=(64, 48))
    out = tmp_path / "out.mp4"
    assert invoke(clip, "-m", "tiny", "--duration", "0.8", "-o", out).exit_code == 0
    rerun = invoke(clip, "-m", "tiny", *change, "-o", out)
    if not change:  # the whole clip is another range than the first 0.8 s
        assert rerun.exit_code == 2 and "made otherwise" in rerun.output and "range 0-0.8" in " ".join(rerun.output.split())
    else:
        assert rerun.exit_code == 2 and "made otherwise" in rerun.output
    assert frames_in(out) == 20  # nothing was done
    same = invoke(clip, "-m", "tiny", "--duration", "0.8", "-o", out)
    assert same.exit_code == 0 and "Nothing to do" in same.output
    redo = invoke(clip, "-m", "tiny", "-o", out, "--overwrite")
    assert redo.exit_code == 0 and frames_in(out) == 30


def test_json_progress_events(tmp_path):
    import json

    clip = make_clip(tmp_path / "film.mp4", frames=20, size=(64, 48))
    result = invoke(clip, "-m", "tiny", "--json", "-o", tmp_path / "out.mp4")
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    progress = [e for e in events if e["type"] == "progress"]
    assert progress and progress[-1]["frames"] == 20 and progress[-1]["total"] == 20 and progress[-1]["eta_s"] == 0
    done = next(e for e in events if e["type"] == "video")
    assert done["status"] == "done" and done["complete"] is True and done["frames"] == 20


def test_an_earlier_recording_of_a_live_source_is_not_taken_as_done(tmp_path):
    frames = b"".join(bytes([40 * i]) * (64 * 48) for i in range(5))
    out = tmp_path / "live.mp4"
    first = invoke("-", "--raw", "64x48", "-m", "tiny", "-o", out, input=frames, catch_exceptions=True)
    assert first.exit_code == 0, first.output
    again = invoke("-", "--raw", "64x48", "-m", "tiny", "-o", out, input=frames, catch_exceptions=True)
    assert again.exit_code == 2 and "made otherwise: by an earlier recording of a live source" in " ".join(again.output.split())
    replaced = invoke("-", "--raw", "64x48", "-m", "tiny", "-o", out, "--overwrite", input=frames, catch_exceptions=True)
    assert replaced.exit_code == 0 and frames_in(out) == 5
