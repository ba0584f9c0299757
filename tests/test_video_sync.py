"""Sound cut with the picture: --start/--duration move the audio with the frames, from 0, as long as them;
audio that a container cannot hold as it is gets re-encoded; subtitles follow the same cut."""

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from colorize_cli import video
from colorize_cli.cli import app

RATE, FPS = 16000, 25
AAC_FRAME = 1024 / RATE  # one audio frame, the tolerance the cut is allowed


def beep_clip(path, seconds=4.0, beep_at=2.5, size=(64, 48), audio="aac", subtitle_at=None, creation_time=None,
              rotation=0, language=None):
    """A gray clip (frame i has brightness 2 i) with silence but for a 1 kHz beep of 0.1 s at `beep_at`;
    optionally a subtitle shown from `subtitle_at` for 1 s (Matroska), tags and a rotation."""
    width, height = size
    with av.open(str(path), "w") as container:
        if creation_time:
            container.metadata["creation_time"] = creation_time
        picture = container.add_stream("libx264", rate=FPS)
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        if rotation:
            picture.set_display_rotation(rotation)
        sound = container.add_stream(audio, rate=RATE)
        sound.layout = "mono"
        if language:
            sound.metadata["language"] = language
        if subtitle_at is not None:  # from an .srt file: PyAV muxes subtitle packets through a template stream
            srt = path.with_suffix(".srt")
            srt.write_text(f"1\n00:00:{subtitle_at:06.3f} --> 00:00:{subtitle_at + 1:06.3f}\na caption\n\n".replace(".", ","))
            captions = av.open(str(srt))
            text = container.add_stream_from_template(captions.streams.subtitles[0])
        t = np.arange(int(RATE * seconds)) / RATE
        samples = np.where((t >= beep_at) & (t < beep_at + 0.1), 0.5 * np.sin(2 * np.pi * 1000 * t), 0).astype(np.float32)[None]
        sent = 0
        for i in range(round(seconds * FPS)):  # interleaved as cameras write: each frame, then the sound up to it
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), 2 * i % 256, np.uint8), format="rgb24")
            for packet in picture.encode(frame):
                container.mux(packet)
            while sent < min(samples.shape[1], (i + 1) * RATE // FPS):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, sent:sent + 1024]), format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = RATE, sent
                sent += 1024
                for packet in sound.encode(chunk):
                    container.mux(packet)
        for packet in picture.encode():
            container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
        if subtitle_at is not None:
            for packet in captions.demux():
                if packet.dts is not None:
                    packet.stream = text
                    container.mux(packet)
            captions.close()
    return path


def sound_of(path):
    """(picture seconds, audio start s, audio seconds, first instant above half the beep's level, or None) of a file."""
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        rate = container.streams.video[0].average_rate
    with av.open(str(path)) as container:
        pieces = [(float(f.pts * f.time_base), f.to_ndarray().mean(axis=0), f.sample_rate) for f in container.decode(audio=0)]
    start = pieces[0][0]
    loud = next((t + np.flatnonzero(np.abs(x) > 0.25)[0] / r for t, x, r in pieces if (np.abs(x) > 0.25).any()), None)
    return frames / rate, start, sum(len(x) / r for _, x, r in pieces), loud


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_start_and_duration_cut_the_sound_with_the_picture(tmp_path, suffix):
    clip = beep_clip(tmp_path / "beep.mp4")
    out = tmp_path / f"cut{suffix}"
    result = CliRunner().invoke(app, [str(clip), "-m", "tiny", "--start", "2", "--duration", "1.2", "-o", str(out)],
                                catch_exceptions=False)
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
    assert CliRunner().invoke(app, [str(clip), "-m", "tiny", "-o", str(out)]).exit_code == 0
    picture, start, length, beep = sound_of(out)
    assert picture == pytest.approx(2.0) and abs(start) <= AAC_FRAME
    assert length == pytest.approx(picture, abs=AAC_FRAME) and beep == pytest.approx(1.0, abs=AAC_FRAME)


def test_webm_gets_the_sound_re_encoded_to_opus_in_sync(tmp_path):
    """WebM takes no AAC: the sound is re-encoded (said in one line), still cut with the picture."""
    clip = beep_clip(tmp_path / "beep.mp4")
    out = tmp_path / "cut.webm"
    result = CliRunner().invoke(app, [str(clip), "-m", "tiny", "--start", "2", "--duration", "1", "-o", str(out)],
                                catch_exceptions=False)
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
    result = CliRunner().invoke(app, [str(clip), "-m", "tiny", "--start", "2", "--duration", "1.5", "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with av.open(str(out)) as container:
        stream = container.streams.subtitles[0]
        shown = [(float(p.pts * p.time_base), bytes(p)) for p in container.demux(stream) if p.dts is not None]
    assert shown == [(pytest.approx(0.5, abs=0.002), b"a caption")]
    mp4 = CliRunner().invoke(app, [str(clip), "-m", "tiny", "--duration", "0.5", "-o", str(tmp_path / "x.mp4")])
    assert mp4.exit_code == 0 and "subtitle stream 2 (srt) cannot go into .mp4; left out" in " ".join(mp4.output.split())


def test_creation_time_rotation_and_languages_are_carried(tmp_path):
    clip = beep_clip(tmp_path / "shot.mp4", seconds=1, creation_time="1999-07-20T20:17:40.000000Z", rotation=90, language="fra")
    for suffix in (".mp4", ".mkv"):
        out = tmp_path / f"out{suffix}"
        assert CliRunner().invoke(app, [str(clip), "-m", "tiny", "-o", str(out)]).exit_code == 0
        with av.open(str(out)) as container:
            assert container.metadata["creation_time"].startswith("1999-07-20T20:17:40")
            assert container.streams.audio[0].metadata.get("language") == "fra"
            assert next(container.decode(video=0)).rotation == 90
            record = video.read_provenance(out)
            assert record["model"] == "tiny" and record["range"] == "0-end"
