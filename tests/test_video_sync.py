"""Sound cut with the picture: --start/--duration move the audio with the frames, from 0, as long as them;
audio that a container cannot hold as it is gets re-encoded; subtitles follow the same cut."""

import av
import pytest

from colorize_cli import video
from conftest import AAC_FRAME, beep_clip, invoke, sound_of

@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_start_and_duration_cut_the_sound_with_the_picture(tmp_path, suffix):
    clip = beep_clip(tmp_path / "beep.mp4")
    out = tmp_path / f"cut{suffix}"
    result = invoke(clip, "-m", "tiny", "--start", "2", "--duration", "1.2", "-o", out)
    assert result.exit_code == 0, result.output
    picture, start, length, beep = sound_of(out)
    assert picture == pytest.approx(1.2, abs=1e-6)
    assert abs(start) <= AAC_FRAME  # sound from 0 (mp4/mov: exactly, trimmed by an edit list)
    assert length == pytest.approx(picture, abs=AAC_FRAME)
    assert beep == pytest.approx(0.5, abs=AAC_FRAME)  # the beep at 2.5 s of the source is at 0.5 s of the cut
    with av.open(str(out)) as container:  # the picture itself starts at the source's 2 s: frame 50, brightness 100
        first = next(container.decode(video=0)).to_ndarray(format="gray").mean()
    assert first == pytest.approx(100, abs=6)


def test_a_whole_clip_keeps_its_sound_length(tmp_path):
    clip = beep_clip(tmp_path / "beep.mp4", seconds=2.0, beep_at=1.0)
    out = tmp_path / "whole.mp4"
    assert invoke(clip, "-m", "tiny", "-o", out, catch_exceptions=True).exit_code == 0
    picture, start, length, beep = sound_of(out)
    assert picture == pytest.approx(2.0) and abs(start) <= AAC_FRAME
    assert length == pytest.approx(picture, abs=AAC_FRAME) and beep == pytest.approx(1.0, abs=AAC_FRAME)


def test_webm_gets_the_sound_re_encoded_to_opus_in_sync(tmp_path):
    """WebM takes no AAC: the sound is re-encoded (said in one line), still cut with the picture."""
    clip = beep_clip(tmp_path / "beep.mp4")
    out = tmp_path / "cut.webm"
    result = invoke(clip, "-m", "tiny", "--start", "2", "--duration", "1", "-o", out)
    assert result.exit_code == 0, result.output
    assert "audio (aac) cannot be copied into .webm; re-encoded to Opus" in " ".join(result.output.split())
    with av.open(str(out)) as container:
        assert [s.codec_context.name for s in container.streams] == ["vp9", "opus"] or \
               [s.codec_context.codec.canonical_name for s in container.streams] == ["vp9", "opus"]
    picture, start, length, beep = sound_of(out)
    opus_frame = 960 / 48000
    assert picture == pytest.approx(1.0) and abs(start) <= AAC_FRAME + opus_frame
    assert length == pytest.approx(picture, abs=AAC_FRAME + opus_frame)
    assert beep == pytest.approx(0.5, abs=AAC_FRAME)


def test_subtitles_are_cut_with_the_picture(tmp_path):
    clip = beep_clip(tmp_path / "talk.mkv", subtitle_at=2.5)
    out = tmp_path / "cut.mkv"
    result = invoke(clip, "-m", "tiny", "--start", "2", "--duration", "1.5", "-o", out)
    assert result.exit_code == 0, result.output
    with av.open(str(out)) as container:
        stream = container.streams.subtitles[0]
        shown = [(float(p.pts * p.time_base), bytes(p)) for p in container.demux(stream) if p.dts is not None]
    assert shown == [(pytest.approx(0.5, abs=0.002), b"a caption")]
    mp4 = invoke(clip, "-m", "tiny", "--duration", "0.5", "-o", tmp_path / "x.mp4", catch_exceptions=True)
    assert mp4.exit_code == 0 and "subtitle stream 2 (srt) cannot go into .mp4; left out" in " ".join(mp4.output.split())


def test_creation_time_rotation_and_languages_are_carried(tmp_path):
    clip = beep_clip(tmp_path / "shot.mp4", seconds=1, creation_time="1999-07-20T20:17:40.000000Z", rotation=90, language="fra")
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"out{suffix}"
        assert invoke(clip, "-m", "tiny", "-o", out, catch_exceptions=True).exit_code == 0
        with av.open(str(out)) as container:
            assert container.metadata["creation_time"].startswith("1999-07-20T20:17:40")
            assert container.streams.audio[0].metadata.get("language") == "fra"
            assert next(container.decode(video=0)).rotation == 90
            record = video.read_provenance(out)
            assert record["model"] == "tiny" and record["range"] == "0-end"
