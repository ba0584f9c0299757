"""--codec and --crf: each codec writes what a reader sees as that codec, in the containers that take it;
10 bits where the source has them; impossible pairs are one line and exit 2."""

from fractions import Fraction

import av
import numpy as np
import pytest

from colorize_cli import video
from conftest import invoke, make_clip


def codec_of(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return stream.codec_context.codec.canonical_name, stream.codec_context.format.name, frames


@pytest.mark.parametrize("codec, suffix, pixels", [("h264", ".mp4", "yuv420p"), ("hevc", ".mp4", "yuv420p"), ("av1", ".mkv", "yuv420p"),
                                                   ("vp9", ".webm", "yuv420p"), ("ffv1", ".mkv", "bgr0"),
                                                   ("prores", ".mov", "yuv422p10le")])
def test_each_codec_writes_that_codec(tmp_path, codec, suffix, pixels):
    clip = make_clip(tmp_path / "film.mp4", frames=6, size=(64, 48))
    out = tmp_path / f"out{suffix}"
    result = invoke(clip, "-m", "tiny", "--codec", codec, "-o", out)
    assert result.exit_code == 0, result.output
    assert codec_of(out) == (codec, pixels, 6)
    assert video.read_provenance(out)["codec"] == codec


@pytest.mark.parametrize("suffix, codec", [(".webm", "vp9"), (".mov", "prores"), (".mkv", "h264"), (".avi", "h264")])
def test_the_container_picks_its_default_codec(tmp_path, suffix, codec):
    clip = make_clip(tmp_path / "film.mp4", frames=4, size=(64, 48))
    result = invoke(clip, "-m", "tiny", "-o", tmp_path / f"out{suffix}")
    assert result.exit_code == 0, result.output
    assert codec_of(tmp_path / f"out{suffix}")[0] == codec


def test_without_o_the_codec_picks_the_container(tmp_path):
    clip = make_clip(tmp_path / "film.mp4", frames=4, size=(64, 48))
    assert invoke(clip, "-m", "tiny", "--codec", "ffv1").exit_code == 0
    assert codec_of(tmp_path / "film_color.mkv")[0] == "ffv1"


def deep_clip(path, frames=3):
    """A 10-bit gray FFV1 clip whose frames hold all 1024 levels."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "gray10le"
        ramp = (np.arange(64 * 48) % 1024 * 64).astype(np.uint16).reshape(48, 64)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(ramp, format="gray16le")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("codec, suffix, pixels, deep", [("hevc", ".mkv", "yuv420p10le", True), ("ffv1", ".mkv", "gbrp10le", True),
                                                         ("prores", ".mov", "yuv422p10le", True), ("h264", ".mp4", "yuv420p", False)])
def test_ten_bits_where_the_source_has_them(tmp_path, codec, suffix, pixels, deep):
    clip = deep_clip(tmp_path / "scan.mkv")
    out = tmp_path / f"out{suffix}"
    result = invoke(clip, "-m", "tiny", "--codec", codec, "-o", out)
    assert result.exit_code == 0, result.output
    assert codec_of(out)[1] == pixels
    with av.open(str(out)) as container:
        luma = next(container.decode(video=0)).to_ndarray(format="gray16le")
    levels = len(np.unique(luma))
    assert levels > 400 if deep else levels <= 256  # the source's 1024 levels survive in 10 bits, not in 8


@pytest.mark.parametrize("args, says", [
    (["-o", "x.webm", "--codec", "h264"], "--codec h264 cannot go into .webm (it takes vp9, av1); write .mp4 or .mov or .mkv or .avi or .ts instead"),
    (["-o", "x.mp4", "--codec", "prores"], "--codec prores cannot go into .mp4"),
    (["-o", "x.gif"], "-o x.gif: GIF holds 256 colours and no sound"),
    (["-o", "x.flv"], "-o x.flv: colorize writes video as .mp4, .m4v, .mov, .mkv, .webm, .avi, .ts; .flv is not one of them"),
    (["--codec", "xvid"], "--codec 'xvid': choose one of h264, hevc, av1, vp9, ffv1, prores"),
    (["-o", "x.mkv", "--codec", "ffv1", "--crf", "10"], "--crf does not apply to ffv1: it is lossless"),
    (["-o", "x.mp4", "--crf", "60"], "--crf 60: h264 takes 0 (best) to 51 (smallest)"),
    (["-o", "-", "--codec", "vp9"], "--codec and --crf apply to a video file output"),
])
def test_impossible_choices_are_one_line_and_exit_2(tmp_path, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    clip = make_clip(tmp_path / "film.mp4", frames=2, size=(64, 48))
    result = invoke(clip, "-m", "tiny", *args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in " ".join(result.output.split()), result.output
    assert not list(tmp_path.glob("x.*")) and not list(tmp_path.glob("*_color*"))


def test_codec_options_are_for_videos(photo_folder):
    result = invoke(photo_folder, "-m", "tiny", "--codec", "ffv1")
    assert result.exit_code == 2 and "--codec and --crf are for videos" in result.output


def test_a_bad_choice_stops_before_any_photo_is_done(tmp_path, photo_folder):
    clip = make_clip(tmp_path / "film.mp4", frames=2, size=(64, 48))
    result = invoke(photo_folder, clip, "-m", "tiny", "--codec", "vp9", "--crf", "70", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "--crf 70: vp9 takes 0 (best) to 63" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
