"""Video and live streams: decode -> batched model -> encode, running concurrently.

- A decoder thread demuxes the input (PyAV/FFmpeg for files and network streams, OpenCV for cameras,
  raw gray8 bytes for pipes) and hands gray frames to the model loop; audio packets go straight to the
  writer, so the audio track is copied bit for bit.
- The main thread runs `Colorizer.run`: L by table look-up (gray source), area resize to the network
  size, batched prediction, temporal smoothing of ab at network resolution, then the full-resolution
  merge in worker threads.
- A writer thread encodes frames in order (H.264 via the FFmpeg inside PyAV's wheel; MPEG-4 part 2 if
  that encoder is missing) and muxes the copied audio.
Queues between the stages are bounded, so memory stays flat whatever the length of the input.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from colorize_cli.errors import ColorizeError

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".mts", ".3gp"}
STREAM_PREFIXES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")
_END = object()


def is_video(path: str | Path) -> bool:
    return str(path).startswith(STREAM_PREFIXES) or Path(str(path)).suffix.lower() in VIDEO_EXTENSIONS


def read_provenance(path: Path) -> dict | None:
    """The provenance record a colorized video carries in its container's `comment` (see `metadata`), or None."""
    import av

    from colorize_cli import metadata

    try:
        with av.open(str(path)) as container:
            return metadata.parse_provenance(container.metadata.get("comment"))
    except Exception:  # unreadable or not a video: nothing recorded
        return None


@dataclass
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    frames: int | None  # None for live streams or unknown
    has_audio: bool = False
    live: bool = False


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


class HintsUntilCut:
    """A video's hints (`--hints`, `--hint`): resolved on the first frame (where a painted copy is compared
    and coordinates are checked) and applied to every frame until the first scene cut. After a cut the
    picture is another shot, where the hinted pixels no longer show the hinted things; the automatic
    colour takes over. Wraps the ab hook (smoothing) so that it sees each frame's input in order."""

    def __init__(self, spec, smoother: TemporalSmoother | None = None):
        self.spec, self.smoother = spec, smoother
        self.is_cut = SceneCuts()
        self.hints, self.active, self.frames = None, True, 0

    def ab_hook(self, l_norm: np.ndarray, ab: np.ndarray) -> np.ndarray:
        if self.active and self.is_cut(l_norm):
            self.active = False
        return self.smoother(l_norm, ab) if self.smoother is not None else ab

    def hints_of(self, job, image: np.ndarray):
        if not self.active:
            return None
        if self.hints is None:
            self.hints = self.spec.resolve(image)
        self.frames += 1
        return self.hints


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
    """A file or network stream through FFmpeg (PyAV). Frames come out as gray8 arrays."""

    def __init__(self, url: str, start: float = 0.0, duration: float | None = None, reconnect: int = 0,
                 retry_delay: float = 1.0):
        self.url, self.start, self.duration = url, start, duration
        self.reconnect, self.retry_delay, self.reconnects = reconnect, retry_delay, 0
        self.error: str | None = None
        self.decoded, self.damaged = 0, None  # frames yielded; the last undecodable packet's error
        self._open()
        self.audio = self.container.streams.audio[0] if self.container.streams.audio else None
        rate = self.video.average_rate or self.video.guessed_rate or Fraction(25)
        frames = self.video.frames or None
        if frames and (start or duration):
            frames = max(0, min(frames, round(float(rate) * ((duration or 1e12) + start))) - round(float(rate) * start))
        self.info = VideoInfo(self.video.codec_context.width, self.video.codec_context.height, Fraction(rate), frames,
                              self.audio is not None, live=url.startswith(STREAM_PREFIXES))
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

    def frames(self, on_audio: Callable | None = None) -> Iterator[tuple[np.ndarray, object]]:
        """Decoded frames in order. A live stream of unknown length that drops (error or closed connection)
        is reopened up to `reconnect` times, `retry_delay` x attempt seconds apart; then it ends cleanly
        with `self.error` saying why. Audio is not carried across a reconnection (its clock restarts)."""
        while True:
            failure = yield from self._demux(on_audio)
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
            on_audio = None

    def _demux(self, on_audio):
        """Yield frames of the open container; return None at its end, "end" at --duration, or the error text."""
        import av

        streams = [self.video] + ([self.audio] if self.audio is not None and on_audio else [])
        end = None if self.duration is None else self.start + self.duration
        time_base = self.video.time_base  # frames flushed from the decoder carry none of their own
        try:
            for packet in self.container.demux(*streams):
                if packet.stream.type == "audio":
                    if packet.dts is not None and self._inside(packet.pts, packet.stream.time_base, end):
                        on_audio(packet)
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
                        return "end"
                    self.decoded += 1
                    yield frame.to_ndarray(format="gray"), frame.pts
        except av.FFmpegError as exc:
            # the input broke off: frames still inside the decoder (threads, B-frames) are whole, keep them
            try:
                for frame in self.video.codec_context.decode(None):
                    if self._inside(frame.pts, time_base, end):
                        self.decoded += 1
                        yield frame.to_ndarray(format="gray"), frame.pts
            except av.FFmpegError:
                pass
            return str(exc)
        return None

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

    def frames(self, on_audio=None):
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

    def frames(self, on_audio=None):
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

class PyAVSink:
    """Video file: H.264 (yuv420p, CRF 18) when the encoder exists, else MPEG-4 part 2; audio copied."""

    def __init__(self, path: Path, info: VideoInfo, source, comment: str | None = None):
        """`comment`: what made the video (the provenance record), stored in the container's metadata."""
        import av

        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")
        self.container = av.open(str(self.tmp), mode="w")
        if comment:
            self.container.metadata["comment"] = comment
        codec = "libx264" if _has_encoder("libx264") else "mpeg4"
        self.stream = self.container.add_stream(codec, rate=info.fps)
        self.stream.width, self.stream.height = info.width - info.width % 2, info.height - info.height % 2
        self.stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self.stream.options = {"crf": "18", "preset": "veryfast"}
        else:
            self.stream.bit_rate = 8_000_000
        self.codec = codec
        # constant frame rate, one tick per frame: keeps fps and frame count exactly (a variable-rate
        # source becomes constant-rate at its average rate)
        self.time_base = Fraction(1) / info.fps
        self.audio = self.container.add_stream_from_template(source.audio) if getattr(source, "audio", None) is not None else None
        self.count = 0

    def write(self, bgr: np.ndarray, pts) -> None:
        import av

        if bgr.shape[1] != self.stream.width or bgr.shape[0] != self.stream.height:
            bgr = bgr[: self.stream.height, : self.stream.width]  # yuv420p needs even sizes
        # OpenCV's BGR->I420 (BT.601, limited range, as swscale's default) is a third of swscale's CPU time,
        # and a frame already in the stream's yuv420p goes to the encoder without a conversion
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2YUV_I420), format="yuv420p")
        frame.pts, frame.time_base = self.count, self.time_base
        self.count += 1
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def write_audio(self, packet) -> None:
        packet.stream = self.audio
        self.container.mux(packet)

    def close(self, keep: bool = True) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        if keep and self.count:
            self.tmp.replace(self.path)
        else:
            self.tmp.unlink(missing_ok=True)


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
    hinted_frames: int = 0  # frames the hints were applied to (those before the first scene cut)


def colorize_video(colorizer, source, sink, smooth: bool = True, on_frame: Callable | None = None,
                   stop: threading.Event | None = None, hints=None) -> VideoResult:
    """Run source -> colorizer -> sink with decoding and encoding in their own threads.
    `stop` (e.g. set by Ctrl-C) ends after the frames in flight, leaving a playable file.
    `hints` (a `hints.HintSpec`): applied from the first frame until the first scene cut."""
    import time

    stop = stop or threading.Event()
    frames_q: queue.Queue = queue.Queue(maxsize=4 * colorizer.batch_size)
    out_q: queue.Queue = queue.Queue(maxsize=4 * colorizer.batch_size)
    errors: list[BaseException] = []

    def decode():
        try:
            for index, (gray, pts) in enumerate(source.frames(on_audio=lambda p: out_q.put(("audio", p)) if sink_has_audio else None)):
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
                if kind == "audio":
                    sink.write_audio(payload)
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

    sink_has_audio = getattr(sink, "audio", None) is not None
    decoder, writer = threading.Thread(target=decode, daemon=True), threading.Thread(target=write, daemon=True)
    smoother = TemporalSmoother() if smooth else None
    guide = HintsUntilCut(hints, smoother) if hints is not None else None
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
                       guide.frames if guide else 0)


def open_source(spec: str, camera: int | None = None, raw: tuple[int, int] | None = None, fps: float = 25.0,
                start: float = 0.0, duration: float | None = None, reconnect: int = 0):
    if camera is not None:
        return CameraSource(camera)
    if spec == "-":
        if raw is None:
            raise ColorizeError("reading frames from stdin needs --raw WIDTHxHEIGHT (gray8 frames)")
        return RawSource(sys.stdin.buffer, raw[0], raw[1], fps)
    return PyAVSource(spec, start, duration, reconnect)
