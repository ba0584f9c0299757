"""Which video codec goes into which container, with which encoder settings (`--codec`, `--crf`).

The encoders are those of the FFmpeg inside PyAV's wheel (`av.codecs_available`): libx264, libx265,
libsvtav1, libvpx-vp9, ffv1, prores_ks. The container is the output's extension; each has a default codec
and accepts only the codecs its players read (FFmpeg itself refuses the rest, some only once the file
is half written, so the pairs are decided here, before anything is opened). No heavy imports here: the
command line checks the choice before the model loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colorize_cli.errors import ColorizeError


@dataclass(frozen=True)
class Codec:
    name: str  # what --codec takes
    encoder: str  # FFmpeg's encoder
    pix_fmt: str  # 8-bit sources
    deep_pix_fmt: str | None  # sources of more than 8 bits (None: 8-bit only)
    crf: tuple[int, int, int] | None  # (lowest, highest, default); None: no quality knob (lossless or profiles)
    options: dict  # encoder options besides the CRF
    what: str  # for --help and messages


CODECS = {c.name: c for c in (
    Codec("h264", "libx264", "yuv420p", None, (0, 51, 18), {"preset": "veryfast"}, "H.264 (x264)"),
    Codec("hevc", "libx265", "yuv420p", "yuv420p10le", (0, 51, 20), {"preset": "veryfast", "x265-params": "log-level=error"},
          "HEVC (x265)"),
    Codec("av1", "libsvtav1", "yuv420p", "yuv420p10le", (0, 63, 28), {"preset": "8"}, "AV1 (SVT-AV1)"),
    Codec("vp9", "libvpx-vp9", "yuv420p", None, (0, 63, 24), {"b": "0", "deadline": "good", "cpu-used": "5", "row-mt": "1"},
          "VP9 (libvpx)"),
    # RGB: the colorized frames exactly, nothing lost to chroma subsampling or rounding (FFV1 version 3, CRC per slice)
    Codec("ffv1", "ffv1", "bgr0", "gbrp10le", None, {"level": "3", "slicecrc": "1"}, "FFV1 (lossless)"),
    # ProRes is always 10-bit 4:2:2; profile 3 is ProRes 422 HQ
    Codec("prores", "prores_ks", "yuv422p10le", "yuv422p10le", None, {"profile": "3"}, "ProRes 422 HQ"),
)}

# output extension -> (the codecs its players read, default codec first)
CONTAINERS = {
    ".mp4": ("h264", "hevc", "av1", "vp9"),
    ".m4v": ("h264",),
    ".mov": ("prores", "h264", "hevc"),
    ".mkv": ("h264", "ffv1", "hevc", "av1", "vp9", "prores"),
    ".webm": ("vp9", "av1"),
    ".avi": ("h264", "ffv1"),
    ".ts": ("h264", "hevc"),
}
# where a codec goes when the output's name is not given: NAME_color.EXT
DEFAULT_EXTENSION = {"ffv1": ".mkv", "prores": ".mov"}
# what audio the container takes when the source's cannot be copied into it (FFmpeg's encoder names)
AUDIO_FALLBACK = {".webm": "libopus", ".avi": "libmp3lame", ".mkv": "flac"}  # the others: aac


@dataclass(frozen=True)
class VideoFormat:
    """The chosen codec for one output file, and what its provenance records about it."""
    codec: Codec
    crf: int | None
    extension: str

    def pix_fmt(self, source_bits: int) -> str:
        """The encoder's pixel format: 10 bits where the codec can and the source has more than 8."""
        return self.codec.deep_pix_fmt if source_bits > 8 and self.codec.deep_pix_fmt else self.codec.pix_fmt

    def deep(self, source_bits: int) -> bool:
        """Whether frames should be colorized at 16 bits for this output (so the 10-bit encoder gets them)."""
        return source_bits > 8 and self.codec.deep_pix_fmt is not None and self.codec.deep_pix_fmt != self.codec.pix_fmt

    def options(self) -> dict:
        options = dict(self.codec.options)
        if self.crf is not None:
            options["crf"] = str(self.crf)
        return options

    def provenance(self) -> dict:
        return {"codec": self.codec.name, **({"crf": self.crf} if self.crf is not None else {})}

    @property
    def audio_fallback(self) -> str:
        return AUDIO_FALLBACK.get(self.extension, "aac")


def default_extension(codec: str | None) -> str:
    return DEFAULT_EXTENSION.get(codec or "", ".mp4")


def choose(target: str | Path, codec: str | None = None, crf: int | None = None) -> VideoFormat:
    """The codec and quality for writing `target`, from its extension and --codec/--crf; a pair that cannot
    be written (or read back by players) is a ColorizeError with the fix, in one line."""
    suffix = Path(str(target)).suffix.lower()
    if suffix == ".gif":
        raise ColorizeError(f"-o {target}: GIF holds 256 colours and no sound, not a colorized film; write .mp4, .mkv, .mov "
                            "or .webm (and make a GIF from it with ffmpeg if you need one)")
    if suffix not in CONTAINERS:
        raise ColorizeError(f"-o {target}: colorize writes video as {', '.join(CONTAINERS)}; "
                            f"{'give the file one of these extensions' if not suffix else f'{suffix} is not one of them'}")
    if codec is not None and codec not in CODECS:
        raise ColorizeError(f"--codec {codec!r}: choose one of {', '.join(CODECS)}")
    name = codec or CONTAINERS[suffix][0]
    if name not in CONTAINERS[suffix]:
        homes = [ext for ext, codecs in CONTAINERS.items() if name in codecs and ext != ".m4v"]
        raise ColorizeError(f"--codec {name} cannot go into {suffix} (it takes {', '.join(CONTAINERS[suffix])}); "
                            f"write {' or '.join(homes)} instead, or choose another --codec")
    chosen = CODECS[name]
    if crf is not None:
        if chosen.crf is None:
            kind = "is lossless" if name == "ffv1" else "has fixed-quality profiles (422 HQ here)"
            raise ColorizeError(f"--crf does not apply to {name}: it {kind}; leave --crf out")
        low, high, _ = chosen.crf
        if not low <= crf <= high:
            raise ColorizeError(f"--crf {crf}: {name} takes {low} (best) to {high} (smallest); the default is {chosen.crf[2]}")
    elif chosen.crf is not None:
        crf = chosen.crf[2]
    return VideoFormat(chosen, crf, suffix)
