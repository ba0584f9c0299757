"""Video and live streams: decode -> batched model -> encode, running concurrently.

- A decoder thread demuxes the input (PyAV/FFmpeg for files and network streams, OpenCV for cameras,
  raw gray8 bytes for pipes) and hands gray frames to the model loop; audio and subtitle packets go
  straight to the writer, so they are copied bit for bit where the output's container takes them.
- The main thread runs `Colorizer.run`: L by table look-up (gray source), area resize to the network
  size, batched prediction, temporal smoothing of ab at network resolution, then the full-resolution
  merge in worker threads.
- A writer thread encodes frames in order (`--codec`, see `video_formats`) and muxes the carried streams,
  cut at the picture's first and last frame (see `PyAVSink`).
Queues between the stages are bounded, so memory stays flat whatever the length of the input. A file
that stops early (Ctrl-C, an error) is closed playable and its provenance says how far it got."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from colorize_cli.errors import ColorizeError

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts", ".3gp"}
LIVE_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "udp://", "tcp://", "srt://")
STREAM_PREFIXES = LIVE_PREFIXES + ("http://", "https://")
_END = object()
SLACK = 5.0  # seconds: how far audio may lie from its picture in a file's interleaving


def is_video(path: str | Path) -> bool:
    return str(path).startswith(STREAM_PREFIXES) or Path(str(path)).suffix.lower() in VIDEO_EXTENSIONS


def read_provenance(path: Path) -> dict | None:
    """The provenance record a colorized video carries in its container's `comment` (see `metadata`), or None."""
    import av

    from colorize_cli import metadata

    try:
        with av.open(str(path)) as container:
            tags = {key.lower(): value for key, value in container.metadata.items()}  # Matroska writes COMMENT
            return metadata.parse_provenance(tags.get("comment"))
    except Exception:  # unreadable or not a video: nothing recorded
        return None


def settings(start: float, duration: float | None, smooth: bool, fmt) -> dict:
    """What a video output records about how it was made beyond the model (see `metadata`): the time
    range, the smoothing, the codec and its quality. A rerun compares them, so a 3 s excerpt never stands
    for the whole film, nor an H.264 file for a ProRes master."""
    end = "end" if duration is None else f"{start + duration:g}"
    return {"range": f"{start:g}-{end}", "smooth": "on" if smooth else "off", **fmt.provenance()}


def existing_output(target: Path, provenance: dict, live: bool = False) -> tuple[str, dict | None]:
    """What is at a video's `target`: ("none", None), ("same", record) made with these settings,
    ("incomplete", record) made with them but stopped early (a rerun redoes it), or ("other", record)."""
    from colorize_cli import metadata

    if not Path(target).exists():
        return "none", None
    record = read_provenance(Path(target))
    if live or record is None:  # a recording of a live source is never redone the same way
        return "other", record
    whole = {key: value for key, value in record.items() if key != "incomplete"}
    if not metadata.same_settings(whole, provenance):
        return "other", record
    return ("incomplete" if "incomplete" in record else "same"), record


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    frames: int | None  # None for live streams or unknown
    has_audio: bool = False
    live: bool = False
    bits: int = 8  # bits per sample of the source's pixels (10 for most HDR and film scans)


# -- temporal smoothing ----------------------------------------------------------------------------

class TemporalSmoother:
    """Exponential moving average of predicted ab at network resolution, reset on scene cuts.

    A frame-independent colorizer flickers because tiny changes of the input flip its guesses; blending
    each frame's ab with the running average keeps colours stable. A cut (mean |ΔL| of the small L
    images above `cut_threshold`, in L units) restarts the average, so colours never bleed across shots."""

    def __init__(self, alpha: float = 0.35, cut_threshold: float = 12.0):
        self.alpha = alpha
        self.is_cut = SceneCuts(cut_threshold)
        self.state: np.ndarray | None = None
        self.cuts = 0

    def __call__(self, l_norm: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """l_norm: (S, S, 1) network input of this frame; ab: its prediction. Returns the smoothed ab."""
        cut = self.is_cut(l_norm)
        if self.state is None or cut:
            self.cuts += cut
            self.state = ab.copy()
        else:
            self.state += self.alpha * (ab - self.state)
        return self.state.copy()


class SceneCuts:
    """The scene-cut detector: called with each frame's network input in order, True at the first frame of
    a new shot (mean |ΔL| of the small L images above `threshold`, in L units)."""

    def __init__(self, threshold: float = 12.0):
        self.threshold = threshold
        self.last_l: np.ndarray | None = None

    def __call__(self, l_norm: np.ndarray) -> bool:
        l_small = l_norm[::4, ::4, 0] * 50.0  # L units at 1/4 of network resolution: cheap and enough
        cut = self.last_l is not None and float(np.abs(l_small - self.last_l).mean()) > self.threshold
        self.last_l = l_small
        return cut


class VideoGuide:
    """A video's hints and references. Hints (`--hints`, `--hint`) are resolved on the first frame (where a
    painted copy is compared and coordinates are checked) and applied to every frame until the first scene
    cut: after a cut the picture is another shot, where the hinted pixels no longer show the hinted things,
    and the automatic colour takes over. References (`--reference`) go shot by shot: each shot takes the
    reference most like it, and none when it is like none of them (`reference.Shots`). Wraps the ab hook
    (smoothing) so that it sees each frame's input in order; `hints_of` comes after it for the same frame."""

    def __init__(self, spec, smoother: TemporalSmoother | None = None):
        from colorize_cli import reference

        self.spec, self.smoother = spec, smoother
        self.is_cut = SceneCuts()
        self.shots = reference.Shots(spec.reference) if spec.reference is not None else None
        self.hints, self.active = None, spec.has_pixels
        self.frames = self.hinted = 0  # frames given anything; frames given the hints

    def ab_hook(self, l_norm: np.ndarray, ab: np.ndarray) -> np.ndarray:
        if self.is_cut(l_norm):
            self.active = False
            if self.shots is not None:
                self.shots.cut()
        return self.smoother(l_norm, ab) if self.smoother is not None else ab

    def hints_of(self, job, image: np.ndarray):
        import dataclasses

        from colorize_cli import colorspace, hints

        if self.active and self.hints is None:
            self.hints = dataclasses.replace(self.spec.resolve(image), reference=None)
        given = self.hints if self.active else hints.Hints.none(image.shape[:2])
        if self.shots is not None:
            given = dataclasses.replace(given, reference=self.shots.guide(colorspace.lightness(image)))
        if given.empty:
            return None
        self.frames += 1
        self.hinted += bool(len(given))
        return given

    def describe(self, total_frames: int) -> str:
        """The summary's words for what was applied where."""
        parts = []
        if self.spec.has_pixels:
            cut = "until the first scene cut" if self.hinted < total_frames else "no scene cut"
            parts.append(f"hints applied to the first {self.hinted} frames ({cut})")
        if self.shots is not None:
            parts.append(self.shots.describe(total_frames))
        return "; ".join(parts)


def flicker(frames_bgr: list[np.ndarray], still: float = 1.0, width: int = 160) -> float:
    """Mean |Δab| between consecutive frames over pixels whose L changed by less than `still` (L units):
    colour that changes where the picture does not is flicker."""
    from colorize_cli import colorspace

    values, previous = [], None
    for frame in frames_bgr:
        small = cv2.resize(frame, (width, max(1, round(frame.shape[0] * width / frame.shape[1]))), interpolation=cv2.INTER_AREA)
        lab = colorspace.bgr_to_lab(small)
        if previous is not None:
            steady = np.abs(lab[..., 0] - previous[..., 0]) < still
            if steady.any():
                values.append(float(np.hypot(*(lab[..., c] - previous[..., c] for c in (1, 2)))[steady].mean()))
        previous = lab
    return float(np.mean(values)) if values else 0.0


# -- sources ---------------------------------------------------------------------------------------

class PyAVSource:
    """A file or network stream through FFmpeg (PyAV). Frames come out as gray8 arrays (gray16 with
    `deep`, for 10-bit outputs of sources deeper than 8 bits). Its audio and subtitle streams are handed
    on as packets (to copy) or decoded frames (to re-encode), from --start to --duration, for the sink to
    cut at the picture's first and last frame."""

    def __init__(self, url: str, start: float = 0.0, duration: float | None = None, reconnect: int = 0,
                 retry_delay: float = 1.0):
        self.url, self.start, self.duration = url, start, duration
        self.reconnect, self.retry_delay, self.reconnects = reconnect, retry_delay, 0
        self.error: str | None = None
        self.decoded, self.damaged = 0, None  # frames yielded; the last undecodable packet's error
        self.rotation = 0  # degrees counter-clockwise, from the first frame's display matrix
        self._open()
        self.extras = [s for s in self.container.streams if s.type in ("audio", "subtitle")]
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        self.metadata = dict(self.container.metadata)
        rate = self.video.average_rate or self.video.guessed_rate or Fraction(25)
        frames = self.video.frames or None
        if frames and (start or duration):
            frames = max(0, min(frames, round(float(rate) * ((duration or 1e12) + start))) - round(float(rate) * start))
        pixels = self.video.codec_context.format
        bits = max((c.bits for c in pixels.components), default=8) if pixels is not None else 8
        self.info = VideoInfo(self.video.codec_context.width, self.video.codec_context.height, Fraction(rate), frames,
                              self.audio is not None, live=url.startswith(STREAM_PREFIXES), bits=bits)
        if start:
            self.container.seek(int(start / self.video.time_base), stream=self.video, any_frame=False, backward=True)

    def _open(self):
        import av

        options = {"rw_timeout": "10000000"} if self.url.startswith(STREAM_PREFIXES) else {}
        try:
            self.container = av.open(self.url, options=options, timeout=(15.0, 15.0) if options else None)
        except (av.FFmpegError, OSError) as exc:
            raise ColorizeError(f"{self.url}: cannot open video ({exc}); check the path or URL and that it is a video") from None
        if not self.container.streams.video:
            self.container.close()
            raise ColorizeError(f"{self.url}: no video stream in this file; give a video")
        self.video = self.container.streams.video[0]
        self.video.thread_type = "AUTO"  # FFmpeg's own frame threads for decoding

    def frames(self, on_extra: Callable | None = None, carry: dict | None = None, deep: bool = False
               ) -> Iterator[tuple[np.ndarray, object]]:
        """Decoded frames in order, as (gray, pts). `carry` maps the index of each audio or subtitle stream
        to hand on to "packet" or "frame"; `on_extra(index, packet_or_frame)` receives them. A live stream
        of unknown length that drops (error or closed connection) is reopened up to `reconnect` times,
        `retry_delay` x attempt seconds apart; then it ends cleanly with `self.error` saying why. Audio is
        not carried across a reconnection (its clock restarts)."""
        carry = carry if on_extra is not None else {}
        while True:
            failure = yield from self._demux(on_extra, carry or {}, "gray16le" if deep else "gray")
            if failure == "end":  # --duration reached
                return
            dropped = self.info.live and (failure is not None or not self.info.frames)
            if not dropped:
                expected = self.info.frames
                if failure is not None:  # truncated or corrupt file: keep what decoded
                    self.error = f"decoding stopped after frame {self.decoded} ({failure}); the file looks truncated or damaged"
                elif expected and self.decoded < 0.98 * expected - 1:  # FFmpeg may end quietly on a cut-off file
                    self.error = f"only {self.decoded} of {expected} frames could be decoded; the file looks truncated or damaged"
                elif self.damaged:
                    self.error = f"some packets could not be decoded ({self.damaged}); the file looks damaged"
                return
            why = failure or "connection closed"
            while self.reconnects < self.reconnect:
                self.reconnects += 1
                time.sleep(self.retry_delay * self.reconnects)
                self.container.close()
                try:
                    self._open()
                    break
                except ColorizeError:
                    continue
            else:
                self.error = (f"stream dropped ({why})" +
                              (f"; gave up after {self.reconnect} reconnect attempt(s)" if self.reconnect else
                               "; use --reconnect N to retry"))
                return
            carry = {}

    def _demux(self, on_extra, carry: dict, gray: str):
        """Yield frames of the open container; return None at its end, "end" at --duration, or the error text.
        After the picture's last frame the demuxing goes on until every carried audio stream has passed
        --duration too (files interleave audio and picture loosely: stopping with the picture lost a
        fifth of a second of sound), at most SLACK seconds further into the file."""
        import av

        extras = [s for s in self.container.streams if s.index in carry]
        streams = [self.video] + extras
        end = None if self.duration is None else self.start + self.duration
        time_base = self.video.time_base  # frames flushed from the decoder carry none of their own
        waiting = {s.index for s in extras if s.type == "audio"}  # audio streams that have not reached `end`
        picture_done = False
        try:
            for packet in self.container.demux(*streams):
                index = packet.stream.index
                if packet.stream.type != "video":
                    t = None if packet.pts is None else float(packet.pts * packet.stream.time_base)
                    if t is not None and end is not None and t >= end:
                        waiting.discard(index)
                        if picture_done and (not waiting or t > end + SLACK):
                            return "end"
                    elif t is None or t + float((packet.duration or 0) * packet.stream.time_base) > self.start - SLACK:
                        self._hand_on(packet, carry[index], on_extra)
                    continue
                if picture_done:
                    if packet.pts is not None and float(packet.pts * time_base) > end + SLACK:
                        return "end"
                    continue
                try:
                    decoded = packet.decode()
                except av.FFmpegError as exc:  # a damaged packet: skip it, keep decoding what follows
                    self.damaged = str(exc)
                    continue
                for frame in decoded:
                    if not self._inside(frame.pts, time_base, None):
                        continue  # decoded from the key frame before --start
                    if end is not None and not self._inside(frame.pts, time_base, end):
                        picture_done = True
                        break
                    if self.decoded == 0:
                        self.rotation = int(round(frame.rotation or 0))
                    self.decoded += 1
                    yield frame.to_ndarray(format=gray), frame.pts
                if picture_done and not waiting:
                    return "end"
        except av.FFmpegError as exc:
            # the input broke off: frames still inside the decoder (threads, B-frames) are whole, keep them
            try:
                for frame in self.video.codec_context.decode(None):
                    if self._inside(frame.pts, time_base, end):
                        self.decoded += 1
                        yield frame.to_ndarray(format=gray), frame.pts
            except av.FFmpegError:
                pass
            return str(exc)
        return "end" if picture_done else None

    @staticmethod
    def _hand_on(packet, how: str, on_extra):
        import av

        if how == "packet":
            if packet.size:  # not the demuxer's end-of-stream marker (Matroska leaves dts unset)
                on_extra(packet.stream.index, packet)
            return
        try:  # re-encoded by the sink: decoded here, in the decoder's thread (the end marker flushes)
            for frame in packet.decode():
                on_extra(packet.stream.index, frame)
        except av.FFmpegError:
            pass  # a damaged audio packet: a moment of silence, as a player would give

    def _inside(self, pts, time_base, end):
        if pts is None:
            return True
        t = float(pts * time_base)
        return t >= self.start - 1e-6 and (end is None or t < end - 1e-6)

    def close(self):
        self.container.close()


class CameraSource:
    """A local camera through OpenCV."""

    def __init__(self, index: int):
        self.capture = cv2.VideoCapture(index)
        if not self.capture.isOpened():
            raise ColorizeError(f"camera {index}: cannot open it; check that it is connected and not used by another program")
        width, height = int(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = self.capture.get(cv2.CAP_PROP_FPS) or 30
        self.info = VideoInfo(width, height, Fraction(fps).limit_denominator(1001), None, live=True)
        self.audio = None

    def frames(self, **_):
        while True:
            ok, frame = self.capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), None

    def close(self):
        self.capture.release()


class RawSource:
    """Raw gray8 frames of a fixed size on a byte stream (stdin)."""

    def __init__(self, stream, width: int, height: int, fps: float):
        self.stream, self.size = stream, (height, width)
        self.info = VideoInfo(width, height, Fraction(fps).limit_denominator(1001), None, live=True)
        self.audio = None

    def frames(self, **_):
        frame_bytes = self.size[0] * self.size[1]
        while True:
            data = self.stream.read(frame_bytes)
            if len(data) < frame_bytes:
                if data:
                    self.error = f"the last {len(data)} bytes are not a whole {self.size[1]}x{self.size[0]} frame; dropped"
                return
            yield np.frombuffer(data, np.uint8).reshape(self.size), None

    def close(self):
        pass


# -- sinks -----------------------------------------------------------------------------------------

# container tags carried from the source (FFmpeg's generic names; each muxer maps them to its own)
CARRIED_TAGS = ("creation_time", "title", "artist", "album", "date", "copyright", "description", "location", "language")
STREAM_TAGS = ("language", "title")
# muxers that keep an audio frame starting before the picture's first instant as such, trimmed by an edit
# list (so the sound starts exactly with the picture); the others would shift every stream to make room
EDIT_LISTS = {"mp4", "mov", "ipod"}
AUDIO_RATES = {"libopus": (48000, 24000, 16000, 12000, 8000), "libmp3lame": (48000, 44100, 32000, 24000, 22050, 16000)}
AUDIO_NAMES = {"aac": "AAC", "libopus": "Opus", "libmp3lame": "MP3", "flac": "FLAC"}


class PyAVSink:
    """A video file in the container its extension names, with the codec of `fmt` (a
    `video_formats.VideoFormat`; default: the container's), constant frame rate, the source's audio and
    subtitle streams, its creation time, rotation and stream languages.

    Audio and subtitles are copied packet for packet where the container takes their codec; audio it does
    not take is re-encoded to one it does (`notes` says so). They are cut with the picture: shifted so
    that the first frame's instant is 0, and muxed only as far as the frames written cover them, so the
    file, whenever it is closed (the end, Ctrl-C, an error), has as much sound as picture (to one audio
    frame). Written to a hidden .part file, renamed when closed."""

    def __init__(self, path: Path, info: VideoInfo, source=None, fmt=None, provenance: dict | None = None):
        """`provenance`: what made the video (see `metadata.provenance_text`), stored as its `comment`."""
        import av

        from colorize_cli import metadata, video_formats

        self.path = Path(path)
        self.fmt = fmt or video_formats.choose(self.path)
        self.provenance = provenance
        self.tmp = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")
        if self.fmt.codec.encoder == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its settings to stderr: errors only
        encoder = self.fmt.codec.encoder if _has_encoder(self.fmt.codec.encoder) else None
        if encoder is None and self.fmt.codec.name != "h264":
            raise ColorizeError(f"{self.path}: this PyAV's FFmpeg has no {self.fmt.codec.encoder} encoder for --codec "
                                f"{self.fmt.codec.name}; choose another --codec")
        self.container = av.open(str(self.tmp), mode="w", format=_muxer(self.path.suffix))
        tags = {key.lower(): value for key, value in (getattr(source, "metadata", None) or {}).items()}
        self.container.metadata.update({key: tags[key] for key in CARRIED_TAGS if tags.get(key)})
        if provenance:
            self.container.metadata["comment"] = metadata.provenance_text(provenance)
        self.codec = encoder or "mpeg4"  # H.264 without libx264: MPEG-4 part 2
        self.stream = self.container.add_stream(self.codec, rate=info.fps, options=self.fmt.options() if encoder else {})
        self.stream.width, self.stream.height = info.width - info.width % 2, info.height - info.height % 2
        self.pix_fmt = self.fmt.pix_fmt(info.bits) if encoder else "yuv420p"
        self.stream.pix_fmt = self.pix_fmt
        if not encoder:
            self.stream.bit_rate = 8_000_000
        self.deep = bool(encoder) and self.fmt.deep(info.bits)  # frames come at 16 bits for a 10-bit encoder
        if getattr(source, "video", None) is not None:
            self.stream.metadata.update({k.lower(): v for k, v in source.video.metadata.items() if k.lower() in STREAM_TAGS and v})
        # constant frame rate, one tick per frame: keeps fps and frame count exactly (a variable-rate
        # source becomes constant-rate at its average rate)
        self.time_base = Fraction(1) / info.fps
        self.source, self.source_time_base = source, getattr(getattr(source, "video", None), "time_base", None)
        self.count, self.start = 0, None  # frames written; the source time (s) of the first
        self.notes: list[str] = []
        self.extras: dict[int, _Carried] = {}
        for stream in getattr(source, "extras", []):
            self._carry(stream)
        self.audio = next((c.out for c in self.extras.values() if c.kind == "audio"), None)
        self.carried = {index: c.how for index, c in self.extras.items()}  # for the source: what to hand on

    def _carry(self, stream) -> None:
        """Plan how the source stream `stream` gets into the output: copied, re-encoded (audio) or left out."""
        import av

        kind, name = stream.type, stream.codec_context.name
        if _can_copy(self.container.format.name, stream):
            out, how = self.container.add_stream_from_template(stream), "packet"
        elif kind == "audio":
            encoder = self.fmt.audio_fallback
            context = stream.codec_context
            rate = context.sample_rate if context.sample_rate in AUDIO_RATES.get(encoder, (context.sample_rate,)) else 48000
            try:
                out = self.container.add_stream(encoder, rate=rate)
                out.layout = context.layout.name if context.channels <= 2 or encoder != "libmp3lame" else "stereo"
            except (ValueError, av.FFmpegError):
                self.notes.append(f"audio stream {stream.index} ({name}) cannot go into {self.path.suffix}; left out")
                return
            how = "frame"
            self.notes.append(f"audio ({name}) cannot be copied into {self.path.suffix}; re-encoded to {AUDIO_NAMES.get(encoder, encoder)}")
        else:
            self.notes.append(f"subtitle stream {stream.index} ({name}) cannot go into {self.path.suffix}; left out "
                              "(.mkv takes every kind)")
            return
        out.metadata.update({k.lower(): v for k, v in stream.metadata.items() if k.lower() in STREAM_TAGS and v})
        self.extras[stream.index] = _Carried(kind, out, how)

    def write(self, image: np.ndarray, pts) -> None:
        import av

        if self.count == 0:
            self.start = float(pts * self.source_time_base) if pts is not None and self.source_time_base else 0.0
            if getattr(self.source, "rotation", 0):
                self.stream.set_display_rotation(self.source.rotation)
        if image.shape[1] != self.stream.width or image.shape[0] != self.stream.height:
            image = image[: self.stream.height, : self.stream.width]  # 4:2:0 and 4:2:2 need even sizes
        image = np.ascontiguousarray(image)
        if self.pix_fmt == "yuv420p" and image.dtype == np.uint8:
            # OpenCV's BGR->I420 (BT.601, limited range, as swscale's default) is a third of swscale's CPU time,
            # and a frame already in the stream's yuv420p goes to the encoder without a conversion
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        else:  # 10-bit, 4:2:2, planar RGB: swscale converts to the encoder's format
            frame = av.VideoFrame.from_ndarray(image, format="bgr48le" if image.dtype == np.uint16 else "bgr24")
        frame.pts, frame.time_base = self.count, self.time_base
        self.count += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self._mux_extras(self.count * self.time_base)

    def write_extra(self, index: int, item) -> None:
        """An audio or subtitle packet (or a decoded audio frame to re-encode) of source stream `index`."""
        carried = self.extras.get(index)
        if carried is None:
            return
        if carried.how == "packet":
            carried.pending.append(item)
        else:
            carried.pending.extend(carried.out.encode(item))
        if self.start is not None:
            self._mux_extras(self.count * self.time_base)

    def _mux_extras(self, until) -> None:
        """Mux the pending audio and subtitle packets that start before `until` (output seconds)."""
        if self.start is None:
            return
        negative_ok = self.container.format.name in EDIT_LISTS
        untimed = self.container.format.name == "avi"  # no timestamps for sound: a late start would shift it all
        for carried in self.extras.values():
            while carried.pending:
                packet = carried.pending[0]
                base = packet.time_base
                begin = float(packet.pts * base) - self.start if packet.pts is not None else 0.0
                if begin >= until:
                    break
                carried.pending.popleft()
                length = float((packet.duration or 0) * base)
                before = begin + length <= 1e-6 if length else begin < -1e-6
                straddles = begin < -1e-6 and not before
                if before or (straddles and carried.kind == "audio" and not negative_ok and
                              (not untimed or begin + length / 2 < 0)):
                    continue  # wholly before the first frame, or partly where the container cannot trim it
                shift = round(self.start / base)
                if straddles and carried.kind != "audio":  # a subtitle shown since before: from 0, for the rest
                    packet.duration = max(1, round((begin + length) / base))
                    packet.pts = packet.dts = shift
                elif straddles and untimed:  # AVI plays sound from its first sample: the nearest frame starts it
                    packet.pts = packet.dts = shift
                packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
                packet.stream = carried.out
                self.container.mux(packet)

    def close(self, keep: bool = True, incomplete: str | None = None) -> None:
        """Finish the file. `keep`: rename it into place (if any frame was written), else delete it.
        `incomplete` ("155 of 526 frames"): the run stopped early; the provenance says so, so that a
        rerun redoes it rather than taking it as done."""
        try:
            for packet in self.stream.encode(None):
                self.container.mux(packet)
            for carried in self.extras.values():
                if carried.how == "frame":
                    carried.pending.extend(carried.out.encode(None))
            self._mux_extras(self.count * self.time_base)  # what the picture covers; the rest is dropped
            self.container.close()
            if not (keep and self.count):
                return
            if incomplete and self.provenance:
                from colorize_cli import metadata

                remux(self.tmp, self.path, metadata.provenance_text({**self.provenance, "incomplete": incomplete}))
            else:
                self.tmp.replace(self.path)
        except Exception as exc:  # the disk or the encoder failed at the very end: say so, leave nothing half-made
            import av

            if isinstance(exc, ColorizeError) or not isinstance(exc, (OSError, av.FFmpegError, ValueError)):
                raise
            raise ColorizeError(f"{self.path}: could not finish writing the video ({exc}); nothing was kept") from None
        finally:
            self.tmp.unlink(missing_ok=True)


@dataclass
class _Carried:
    kind: str  # audio, subtitle
    out: object  # the output stream
    how: str  # packet: copied; frame: re-encoded
    pending: deque = field(default_factory=deque)  # packets waiting for the picture to reach them


def _muxer(suffix: str) -> str:
    return {".mkv": "matroska", ".m4v": "ipod", ".ts": "mpegts"}.get(suffix.lower(), suffix.lower().lstrip("."))


def _can_copy(muxer: str, stream) -> bool:
    """Does the `muxer` take `stream`'s codec as it is? Asked of FFmpeg with an empty file in memory."""
    import io

    import av

    try:
        with av.open(io.BytesIO(), "w", format=muxer) as probe:
            probe.add_stream_from_template(stream)
            probe.start_encoding()
        return True
    except (ValueError, av.FFmpegError):
        return False


def remux(source: Path, target: Path, comment: str) -> None:
    """Copy every stream of `source` to `target` (atomically) with `comment` as its provenance record."""
    import av

    from colorize_cli import files

    with files.atomic_path(target, suffix=target.suffix) as tmp:
        with av.open(str(source)) as original, av.open(str(tmp), "w", format=_muxer(target.suffix)) as copy:
            copy.metadata.update({k.lower(): v for k, v in original.metadata.items() if k.lower() in CARRIED_TAGS})
            copy.metadata["comment"] = comment
            streams = [s for s in original.streams if s.type in ("video", "audio", "subtitle")]
            mapped = {}
            for stream in streams:
                mapped[stream.index] = copy.add_stream_from_template(stream)
                mapped[stream.index].metadata.update({k.lower(): v for k, v in stream.metadata.items() if k.lower() in STREAM_TAGS})
            for packet in original.demux(*streams):
                if packet.size:  # not an end-of-stream marker
                    packet.stream = mapped[packet.stream.index]
                    copy.mux(packet)


class RawSink:
    def __init__(self, stream):
        self.stream, self.count = stream, 0

    def write(self, bgr, pts):
        self.stream.write(np.ascontiguousarray(bgr).tobytes())
        self.count += 1

    def close(self, keep=True):
        self.stream.flush()


class ShowSink:
    """A preview window: the colorized frame, or (press `o`) the original beside it; `q` or Esc stops."""

    def __init__(self, title: str):
        if not _has_gui():
            raise ColorizeError("--show needs OpenCV with a GUI: pip install opencv-python (instead of opencv-python-headless)")
        self.title, self.side_by_side, self.count, self.stopped = title, False, 0, False

    def write(self, bgr, pts, original=None):
        view = bgr if not (self.side_by_side and original is not None) else np.hstack([cv2.cvtColor(original, cv2.COLOR_GRAY2BGR), bgr])
        cv2.imshow(self.title, view)
        key = cv2.waitKey(1) & 0xFF
        if key == ord("o"):
            self.side_by_side = not self.side_by_side
        elif key in (ord("q"), 27):
            self.stopped = True
        self.count += 1

    def close(self, keep=True):
        cv2.destroyAllWindows()


def _has_encoder(name: str) -> bool:
    import av

    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:
        return False


def _has_gui() -> bool:
    return "GUI" in cv2.getBuildInformation() and "NO" not in cv2.getBuildInformation().split("GUI:")[-1].splitlines()[0]


# -- the pipeline ------------------------------------------------------------------------------------

@dataclass
class VideoResult:
    frames: int
    seconds: float
    smoother_cuts: int
    stopped_early: str | None = None  # why, if the input ended abnormally
    hinted_frames: int = 0  # frames the hints or a reference were applied to
    guide_note: str = ""  # which: hints until the first scene cut, which reference in how many shots


def colorize_video(colorizer, source, sink, smooth: bool = True, on_frame: Callable | None = None,
                   stop: threading.Event | None = None, hints=None) -> VideoResult:
    """Run source -> colorizer -> sink with decoding and encoding in their own threads.
    `stop` (e.g. set by Ctrl-C) ends after the frames in flight, leaving a playable file.
    `hints` (a `hints.HintSpec`): its hints applied from the first frame until the first scene cut, its
    references shot by shot (see `VideoGuide`)."""
    import time

    stop = stop or threading.Event()
    frames_q: queue.Queue = queue.Queue(maxsize=4 * colorizer.batch_size)
    out_q: queue.Queue = queue.Queue(maxsize=4 * colorizer.batch_size)
    errors: list[BaseException] = []

    def decode():
        try:
            carry = getattr(sink, "carried", None) or {}
            on_extra = (lambda index, item: out_q.put(("extra", (index, item)))) if carry else None
            for index, (gray, pts) in enumerate(source.frames(on_extra=on_extra, carry=carry, deep=getattr(sink, "deep", False))):
                if stop.is_set():
                    break
                frames_q.put((index, gray, pts))
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            frames_q.put(_END)

    def write():
        try:
            while (item := out_q.get()) is not _END:
                kind, payload = item
                if kind == "extra":
                    sink.write_extra(*payload)
                else:
                    frame, pts, original = payload
                    if isinstance(sink, ShowSink):
                        sink.write(frame, pts, original)
                        if sink.stopped:
                            stop.set()
                    else:
                        sink.write(frame, pts)
        except BaseException as exc:
            errors.append(exc)
            stop.set()
            while out_q.get() is not _END:  # keep draining so the producer never blocks
                pass

    decoder, writer = threading.Thread(target=decode, daemon=True), threading.Thread(target=write, daemon=True)
    smoother = TemporalSmoother() if smooth else None
    guide = VideoGuide(hints, smoother) if hints is not None else None
    started = time.perf_counter()
    decoder.start()
    writer.start()

    def jobs():
        while (item := frames_q.get()) is not _END:
            yield item

    done = 0
    try:
        hooks = {"ab_hook": guide.ab_hook, "hints_of": guide.hints_of} if guide else {"ab_hook": smoother}
        for (index, gray, pts), output, error in colorizer.run(jobs(), load=lambda job: job[1], **hooks):
            if error is not None:
                raise error
            out_q.put(("video", (output, pts, gray)))
            done += 1
            if on_frame:
                on_frame(done)
    finally:
        stop.set()
        while decoder.is_alive():  # unblock a decoder waiting on a full queue
            try:
                frames_q.get_nowait()
            except queue.Empty:
                decoder.join(0.05)
        out_q.put(_END)
        writer.join()
    if errors:
        raise errors[0]
    return VideoResult(done, time.perf_counter() - started, smoother.cuts if smoother else 0, getattr(source, "error", None),
                       guide.frames if guide else 0, guide.describe(done) if guide else "")


def open_source(spec: str, camera: int | None = None, raw: tuple[int, int] | None = None, fps: float = 25.0,
                start: float = 0.0, duration: float | None = None, reconnect: int = 0):
    if camera is not None:
        return CameraSource(camera)
    if spec == "-":
        if raw is None:
            raise ColorizeError("reading frames from stdin needs --raw WIDTHxHEIGHT (gray8 frames)")
        return RawSource(sys.stdin.buffer, raw[0], raw[1], fps)
    return PyAVSource(spec, start, duration, reconnect)
