"""What the tests share: the one `invoke` helper, made-up photos and clips (no test reads ../shared), and the
test models. Tests import helpers from here, never from each other.

TensorFlow is imported only by the tests that need it: a test marked `light` (the light install's parts: photos
on LiteRT, media, metadata, metrics...) gets an empty models folder instead of the Keras 'tiny' model, and fails
if it imports TensorFlow itself. Every other test gets 'tiny', built once per session (that import is TensorFlow).
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
import pytest


def invoke(*args, input=None, catch_exceptions=False, **options):
    """Run the CLI in-process (typer's CliRunner) with `args` turned into strings: the one helper tests use.
    stdout and stderr are kept apart (result.stdout, result.stderr; result.output has both). `options` go to
    CliRunner.invoke (env, prog_name)."""
    from typer.testing import CliRunner

    from colorize_cli.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], input=input, catch_exceptions=catch_exceptions, **options)


def one_line_error(result, *needles):
    """A usage error: exit 2, one line starting 'Error:' that holds each of `needles`."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def photo(tmp_path):
    """x.jpg: a 64x48 black-and-white photo."""
    path = tmp_path / "x.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(gradient_bgr(), cv2.COLOR_BGR2GRAY))
    return path


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory):
    """A models directory holding 'tiny': an untrained 32-px U-Net of width 4 with its card."""
    from colorize_cli import networks, registry, train

    directory = tmp_path_factory.mktemp("models")
    card = registry.ModelCard("tiny", "test model", arch="unet", input_size=32, width=4, objective="lsgan")
    train.export_generator(networks.unet_generator(32, 4), card, directory)
    return directory


@pytest.fixture(autouse=True)
def models_env(request, tmp_path_factory, monkeypatch):
    """COLORIZE_MODELS_DIR: the 'tiny' model's folder; for a `light` test an empty one, and a check that the test
    did not import TensorFlow (effective where nothing before it did: run the light tests alone, as
    test_layers.py does)."""
    if request.node.get_closest_marker("light") is None:
        monkeypatch.setenv("COLORIZE_MODELS_DIR", str(request.getfixturevalue("tiny_models_dir")))
        yield
        return
    empty = tmp_path_factory.getbasetemp() / "no-models"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("COLORIZE_MODELS_DIR", str(empty))
    before = "tensorflow" in sys.modules
    yield
    assert before or "tensorflow" not in sys.modules, f"{request.node.nodeid} is marked light but imported TensorFlow"


def gradient_bgr(height=48, width=64, dtype=np.uint8):
    """A colourful test image: hue sweeps across, brightness down."""
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0.2, 1, height, dtype=np.float32)[:, None]
    bgr = np.stack([x * y, (1 - x) * y, np.full((height, width), 0.5, np.float32) * y], axis=2)
    scale = 255 if dtype == np.uint8 else 65535
    return (bgr * scale + 0.5).astype(dtype)


def truth_photo(size=(96, 128)):
    """A colour photo (scikit-image's astronaut, reduced) as 8-bit BGR."""
    from skimage import data

    return cv2.resize(data.astronaut()[:, :, ::-1], size[::-1], interpolation=cv2.INTER_AREA)


def colour_photos(folder, count=24, size=40):
    """`count` colourful size x size JPEGs p00.jpg... in `folder` (a training set: hue sweeps, random offsets)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        hsv = np.zeros((size, size, 3), np.uint8)
        hsv[..., 0] = (rng.integers(0, 180) + np.arange(size)[None, :]) % 180
        hsv[..., 1] = 200
        hsv[..., 2] = np.linspace(60, 250, size, dtype=np.uint8)[:, None]
        cv2.imwrite(str(folder / f"p{i:02d}.jpg"), cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR))
    return folder


@pytest.fixture
def photo_folder(tmp_path):
    """archive/ with two good JPEGs (one in a subfolder) and a PNG."""
    root = tmp_path / "archive"
    (root / "sub").mkdir(parents=True)
    cv2.imwrite(str(root / "a.jpg"), gradient_bgr())
    cv2.imwrite(str(root / "sub" / "b.jpg"), cv2.cvtColor(gradient_bgr(40, 30), cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(root / "c.png"), gradient_bgr(20, 50))
    return root


# -- clips (PyAV, imported when a clip is made) ------------------------------------------------------------------

def make_clip(path, frames=30, size=(96, 64), fps=25, audio=False, cut_at=None):
    """A gray clip panning over scikit-image's camera photo; optionally with a sine audio track."""
    import av
    from skimage import data

    width, height = size
    camera = data.camera()
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if audio:
            sound = container.add_stream("aac", rate=16000)
            sound.layout = "mono"
        for i in range(frames):
            source = camera if cut_at is None or i < cut_at else 255 - camera
            gray = np.ascontiguousarray(source[100 + i: 100 + i + height, 100: 100 + width])
            frame = av.VideoFrame.from_ndarray(np.dstack([gray] * 3), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio:
            t = np.arange(int(16000 * frames / fps)) / 16000
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp", layout="mono")
                chunk.sample_rate = 16000
                for packet in sound.encode(chunk):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path


RATE, FPS = 16000, 25
AAC_FRAME = 1024 / RATE  # one audio frame, the tolerance the cut is allowed


def beep_clip(path, seconds=4.0, beep_at=2.5, size=(64, 48), audio="aac", subtitle_at=None, creation_time=None,
              rotation=0, language=None):
    """A gray clip (frame i has brightness 2 i) with silence but for a 1 kHz beep of 0.1 s at `beep_at`;
    optionally a subtitle shown from `subtitle_at` for 1 s (Matroska), tags and a rotation."""
    import av

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
    import av

    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        rate = container.streams.video[0].average_rate
    with av.open(str(path)) as container:
        pieces = [(float(f.pts * f.time_base), f.to_ndarray().mean(axis=0), f.sample_rate) for f in container.decode(audio=0)]
    start = pieces[0][0]
    loud = next((t + np.flatnonzero(np.abs(x) > 0.25)[0] / r for t, x, r in pieces if (np.abs(x) > 0.25).any()), None)
    return frames / rate, start, sum(len(x) / r for _, x, r in pieces), loud
