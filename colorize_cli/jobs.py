"""The jobs `colorize PATH...` runs: photos (image files, folders and folders on remote storage, whichever
engine runs them) and videos (files, streams, a camera; `run_video`, at the end).

    plan -> sort what exists (provenance) -> run on an engine (threads here, or Ray actors) -> summary

`run_photos` is what `colorize PATH...` runs for photos, and what a Python program calls to colorize a
folder the way the command does (resume, refusals, metadata, atomic writes). What the job has to say while
it runs goes to an `Events` object: the CLI's prints lines and JSON records; the base class says nothing.
Errors that stop the whole job are raised: `UsageError` (exit 2: the command asked for something that is
not there or outputs made otherwise are in the way), `ColorizeError` (exit 1: e.g. the Ray cluster failed);
a photo that fails is reported through `Events.failed` and the rest complete."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from colorize_cli import metadata
from colorize_cli.errors import ColorizeError, OutputError, UsageError


@dataclass
class Engine:
    """Who runs the job: this process (local threads) or a Ray cluster (see `ray_engine`)."""
    name: str = "local"
    address: str | None = None  # ray: host:port of `ray start --head`, or auto; None: a Ray instance for this run
    workers: int | None = None  # ray: colorizing actors

    def __post_init__(self):
        if self.name not in ("local", "ray"):
            raise UsageError(f"--engine {self.name!r}: choose local or ray")
        if self.name == "local" and (self.address or self.workers):
            raise UsageError("--address and --workers apply to --engine ray")


@dataclass
class Model:
    """The model and what adjusts it, as every output records it."""
    name: str
    saturation: float | None = None
    backend: str = "auto"  # see pipeline.choose_backend
    # further items every output records about what made it (e.g. {"hints": "12 points"}); the rerun check
    # compares them too, so an output made with other hints is not taken as done
    provenance_extra: dict = field(default_factory=dict)
    hints: object = None  # a hints.HintSpec: colours the user knows, for the one input
    _provenance: dict | None = field(default=None, repr=False)

    def provenance(self) -> dict:
        """What every output records as having made it (tool, model, weights, saturation, extras), resolved
        from the card without loading the network; an unknown model raises UsageError here."""
        if self._provenance is None:
            from colorize_cli import __version__, registry
            from colorize_cli.pipeline import choose_backend

            backend, tflite = choose_backend(self.name, self.backend)
            if backend == "litert":  # the file that runs is the .tflite: its outputs are its own
                card, weights = tflite
                sha = card.tflite.get("sha256")
            else:
                card, weights = registry.resolve(self.name)
                sha = card.sha256
            saturation = card.saturation if self.saturation is None else self.saturation
            self._provenance = {"tool": f"colorize {__version__}", "model": card.name,
                                "weights": (sha or registry.file_sha256(weights))[:12], "saturation": float(saturation),
                                **self.provenance_extra}
        return self._provenance

    def settings(self) -> dict:
        """The provenance items for --json records (only once they have been resolved)."""
        return {k: v for k, v in (self._provenance or {}).items() if k != "tool"}

    def load(self, batch_size: int, engine: Engine | None = None):
        """The colorizer that runs the jobs: `pipeline.Colorizer`, or `RayColorizer` (same interface) on Ray."""
        if engine is not None and engine.name == "ray":
            from colorize_cli.ray_engine import RayColorizer

            return RayColorizer(self.name, batch_size, self.saturation, self.backend, engine.address, engine.workers)
        from colorize_cli.pipeline import Colorizer

        return Colorizer(self.name, batch_size=batch_size, saturation=self.saturation, backend=self.backend)


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    not_images: int = 0

    def add(self, other: "Summary") -> None:
        for key in vars(self):
            setattr(self, key, getattr(self, key) + getattr(other, key))

    def count(self, outcome: "VideoOutcome") -> None:
        """A video's outcome; an interrupted one is not counted (the run stops, exit 130, see `run_videos`)."""
        if outcome.status in ("done", "skipped", "failed"):
            setattr(self, outcome.status, getattr(self, outcome.status) + 1)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


@dataclass
class Existing:
    """What a run finds at its planned outputs (see `sort_existing`)."""
    todo: list  # no output yet, or one that --overwrite redoes
    same: list  # made with the same settings: skipped, so a rerun resumes
    other: dict  # made otherwise (another model, weights, saturation or program): made-by -> jobs
    unrecorded: list  # BMP outputs, which cannot record what made them: kept as they are


class OutputsInTheWay(UsageError):
    """Some outputs exist but were made otherwise: nothing was done (exit 2); `found.other` says by what."""

    def __init__(self, message: str, found: Existing):
        super().__init__(message)
        self.found = found


class Interrupted(ColorizeError):
    """Ctrl-C: the photos in flight were finished or dropped cleanly; `summary` counts what was done."""

    def __init__(self, summary: "Summary"):
        super().__init__(f"Ctrl-C: {summary.done} colorized, {summary.skipped} skipped, {summary.failed} failed; "
                         "finished photos are kept and nothing partial was left: rerun the same command to do the rest")
        self.summary = summary


class Events:
    """What a job says while it runs; the CLI overrides these to print lines and JSON records."""

    def not_images(self, others: list[str]) -> None:
        """Files in the folders that are not images (not colorized)."""

    def existing(self, job, status: str) -> None:
        """An output that is there already: status "skipped" (same settings) or "kept" (BMP, no record)."""

    def note(self, *parts) -> None:
        """A line for people (nothing to do, the summary): strings, or (string, style) pairs to print plainly."""

    def progress(self, name: str, total: int):
        """A context manager around the run; what it yields is called once per finished photo."""
        return contextlib.nullcontext(lambda: None)

    def done(self, job) -> None:
        pass

    def failed(self, job, message: str) -> None:
        pass

    def stopped(self, left: list) -> None:
        """The output location itself failed (full, read-only): `left` were not attempted."""


# -- where photos are read and written -------------------------------------------------------------------

class LocalFiles:
    """Image files and folders on this machine (`media`)."""
    remote = False

    def plan(self, sources: list[str], output: str | None, suffix: str, fmt: str | None):
        from colorize_cli import media

        others: list[Path] = []
        jobs = media.plan([Path(s) for s in sources], Path(output) if output else None, suffix, fmt, others=others)
        return jobs, [str(p) for p in others]

    def exists(self, jobs) -> set:
        return {job for job in jobs if job.target.exists()}

    def read_record(self, target) -> dict | None:
        return metadata.read_provenance(target)

    def check(self, job, max_pixels) -> None:
        """Header-only size check before the model loads: a bomb is refused in milliseconds."""
        from colorize_cli import media

        media.check_pixels(job.source, max_pixels)

    def read(self, job, max_pixels):
        from colorize_cli import media

        return media.read_photo(job.source, max_pixels=None)  # sizes were checked by `check`

    def write(self, job, image, meta, provenance, quality) -> None:
        from colorize_cli import media

        media.write_image(job.target, image, meta, provenance, quality)

    def where(self, jobs) -> str:
        return str(jobs[0].target if len(jobs) == 1 else Path(os.path.commonpath([str(j.target.parent) for j in jobs])))


class StoredFiles:
    """A folder on storage pyarrow knows (s3://, gs://, hdfs://, file://; see `storage`): on --engine ray."""
    remote = True

    def plan(self, sources: list[str], output: str | None, suffix: str, fmt: str | None):
        from colorize_cli import storage

        if len(sources) != 1 or not output:
            raise UsageError("remote storage: give one source folder and an output folder (-o)")
        self.output = output
        return storage.plan(sources[0], output, fmt)

    def exists(self, jobs) -> set:
        from colorize_cli import storage

        try:
            return storage.existing(jobs)
        except OSError as exc:
            raise UsageError(f"{jobs[0].target}: cannot list the outputs ({exc}); check the location") from None

    def read_record(self, target) -> dict | None:
        from colorize_cli import storage

        return storage.read_provenance(target)

    def check(self, job, max_pixels) -> None:
        pass  # checked where the photo is read, on the worker

    def read(self, job, max_pixels):
        from colorize_cli import storage

        return storage.read(job.source, max_pixels)

    def write(self, job, image, meta, provenance, quality) -> None:
        from colorize_cli import storage

        storage.write(job.target, image, meta, provenance, quality)

    def where(self, jobs) -> str:
        return self.output


def files_for(sources: list[str], output: str | None, engine: Engine | None):
    """LocalFiles, or StoredFiles when a source or the output is a URI (which needs --engine ray)."""
    from colorize_cli.storage import is_uri

    uri = next((p for p in [*sources, output] if is_uri(p)), None)
    if uri is None:
        return LocalFiles()
    if engine is None or engine.name != "ray":
        raise UsageError(f"{uri}: folders on remote storage run on --engine ray")
    return StoredFiles()


# -- the flow ---------------------------------------------------------------------------------------------

def sort_existing(jobs: list, provenance: dict, overwrite: bool, files) -> Existing:
    """Sort jobs by what already exists at their targets, reading each existing output's provenance record
    (several at once). An output is skipped only if it was made with the same settings."""
    found = Existing([], [], {}, [])
    present = set() if overwrite else files.exists(jobs)
    recordable = [job for job in jobs if job in present and Path(str(job.target)).suffix.lower() in metadata.RECORDS]
    with ThreadPoolExecutor(8) as pool:
        records = dict(zip(recordable, pool.map(lambda job: files.read_record(job.target), recordable)))
    for job in jobs:
        if job not in present:
            found.todo.append(job)
        elif job not in records:
            found.unrecorded.append(job)
        elif metadata.same_settings(records[job], provenance):
            found.same.append(job)
        else:
            found.other.setdefault(metadata.describe(records[job]), []).append(job)
    return found


def in_the_way(found: Existing, provenance: dict, total: int) -> OutputsInTheWay:
    """The refusal when outputs made otherwise exist: by what, and the two fixes."""
    count = sum(len(jobs) for jobs in found.other.values())
    groups = "; ".join(f"{len(jobs)} by {made_by}" if count > 1 else f"by {made_by}" for made_by, jobs in found.other.items())
    example = next(iter(found.other.values()))[0].target
    which = f"{example} exists but was" if count == 1 else f"{count} of {total} outputs exist (e.g. {example}) but were"
    return OutputsInTheWay(f"{which} made otherwise: {groups}. Nothing was done. To redo {'it' if count == 1 else 'them'} "
                           f"with {metadata.describe(provenance)}, add --overwrite; to keep both, choose another -o or --suffix.",
                           found)


def run_photos(sources: list[str], output: str | None, model: Model, *, suffix: str = "_color", fmt: str | None = None,
               overwrite: bool = False, batch_size: int = 8, max_pixels: int | None = None, quality: int | None = None,
               engine: Engine | None = None, events: Events | None = None) -> Summary:
    """Colorize image files and folders (local paths, or one remote folder on --engine ray) into `output`
    (default: beside each file, FOLDER{suffix}/ for a folder), resuming a run that stopped. `quality`: of
    JPEG and WebP outputs (default: each input's, else 95; see `media.encode_image`)."""
    from colorize_cli import media

    events = events or Events()
    max_pixels = media.MAX_PIXELS if max_pixels is None else max_pixels
    files = files_for(sources, output, engine)
    try:
        jobs, others = files.plan(sources, output, suffix, fmt)
    except ColorizeError as exc:  # what the command asked for cannot be planned: a usage error (exit 2)
        raise exc if isinstance(exc, UsageError) else UsageError(str(exc)) from None
    if engine is not None and engine.name == "ray" and not files.remote:  # Ray's workers have a working folder of their own
        from colorize_cli.media import Job

        jobs = [Job(Path(os.path.abspath(job.source)), Path(os.path.abspath(job.target))) for job in jobs]
    summary = Summary(not_images=len(others))
    if others:
        events.not_images(others)
    if not jobs:
        raise ColorizeError(f"no images found in {', '.join(sources)}")
    provenance = model.provenance()
    found = sort_existing(jobs, provenance, overwrite, files)
    if found.other:
        raise in_the_way(found, provenance, len(jobs))
    for status, kept in (("skipped", found.same), ("kept", found.unrecorded)):
        for job in kept:
            events.existing(job, status)
    summary.skipped = len(found.same) + len(found.unrecorded)
    kept_note = (f"; {len(found.unrecorded)} existing BMP outputs cannot record what made them and were kept"
                 if found.unrecorded else "")
    if not found.todo:
        what = f"{jobs[0].target} exists" if len(jobs) == 1 else f"all {len(jobs)} outputs exist"
        events.note(f"Nothing to do: {what}, made by {metadata.describe(provenance)} as now{kept_note}; "
                    f"--overwrite redoes {'it' if len(jobs) == 1 else 'them'}.")
        return summary
    todo = []
    for job in found.todo:
        try:
            files.check(job, max_pixels)
            todo.append(job)
        except ColorizeError as exc:
            summary.failed += 1
            events.failed(job, str(exc))
    if todo:
        hints_of = photo_hints(model.hints, todo[0], files, max_pixels) if model.hints is not None else None
        carried = {}  # job -> the input's metadata, from its reading to its writing (worker threads or one actor)

        def load(job):
            image, carried[job] = files.read(job, max_pixels)
            return image

        def save(job, image):
            files.write(job, image, carried.pop(job, None), provenance, quality)

        colorizer = model.load(batch_size, engine)
        counted = [0, 0]  # done, failed: kept up to date, so that a Ctrl-C can say what was done
        started = time.time()
        try:
            run(colorizer, todo, load, save, events, hints_of, counted)
        except KeyboardInterrupt:
            # Ray's workers write ahead of the results coming back: count the files, where they can be seen
            written = 0 if files.remote else sum(1 for job in todo if job.target.is_file() and job.target.stat().st_mtime >= started - 1)
            summary.done, summary.failed = max(counted[0], written), summary.failed + counted[1]
            raise Interrupted(summary) from None
        summary.done, summary.failed = counted[0], summary.failed + counted[1]
    events.note((f"{summary.done} colorized", "bold"), f", {summary.skipped} skipped (made with these settings), "
                f"{summary.failed} failed" + (f" — output: {files.where(found.todo)}" if summary.done else "") + kept_note)
    return summary


def run(colorizer, jobs: list, load: Callable, save: Callable, events: Events, hints_of=None, counted=None) -> list:
    """Run `jobs` through the colorizer (`load(job) -> image`, `save(job, image)` in its worker threads or
    actors); returns [done, failed], counted in `counted` as they come. A failure of the output location
    itself (`OutputError`: full disk, read-only folder) stops the job instead of failing every later photo
    the same way; Ctrl-C (KeyboardInterrupt) lets the writes in flight finish or fail cleanly, then goes on."""
    counted = [0, 0] if counted is None else counted
    with events.progress(f"colorizing with {colorizer.name}", len(jobs)) as advance:
        results = colorizer.run(jobs, load=load, save=save, hints_of=hints_of)
        try:
            for count, (job, _, error) in enumerate(results, start=1):
                if error is None:
                    counted[0] += 1
                    events.done(job)
                else:
                    counted[1] += 1
                    events.failed(job, str(error) if isinstance(error, ColorizeError) else f"{job.source}: {type(error).__name__}: {error}")
                    if isinstance(error, OutputError):
                        results.close()
                        left = [j for j in jobs[count:] if not Path(str(j.target)).exists()]
                        counted[1] += len(left)
                        events.stopped(left)
                        break
                advance()
        finally:
            results.close()  # on Ctrl-C too: in-flight writes end whole or not at all, Ray's workers are released
    return counted


def photo_hints(spec, job, files, max_pixels):
    """The hints resolved against the one photo before the model loads, so that hints which do not fit it
    stop the job (UsageError); returns the pipeline's hints_of. An unreadable photo is left to the usual
    per-photo report. A reference alone is matched to each photo in turn."""
    from colorize_cli import media

    if not spec.has_pixels:
        return lambda job, image: spec.resolve(image)
    try:
        hints = spec.resolve(files.read(job, max_pixels)[0])
    except media.ImageReadError:
        return None
    except ColorizeError as exc:
        raise UsageError(f"{job.source}: {exc}") from None
    return lambda job, image: hints


def photo_bytes(source: str, model: Model, fmt: str | None = None, batch_size: int = 1, quality: int | None = None,
                max_pixels: int | None = None) -> bytes:
    """One photo colorized and encoded as a file of `fmt` (default PNG) with its metadata and provenance,
    for `colorize photo.jpg -o -` (the bytes go to stdout)."""
    from colorize_cli import media

    ext = media.output_extension(fmt or "png")
    source = Path(source)
    if not source.is_file():
        raise UsageError(f"-o - writes one photo to stdout; {source} is not one: give an image file, or an output folder")
    provenance = model.provenance()
    image, meta = media.read_photo(source, media.MAX_PIXELS if max_pixels is None else max_pixels)
    hints = model.hints.resolve(image) if model.hints is not None else None
    colorizer = model.load(batch_size)
    return media.encode_image(colorizer.colorize_bgr(image, hints), ext, meta, provenance, name="-o -", quality=quality)


# -- the video job ----------------------------------------------------------------------------------------
#
#     target -> what exists there (provenance) -> source, model, sink -> frames (Ctrl-C: finish those in
#     flight) -> kept whole, or kept marked incomplete -> a VideoOutcome
#
# `run_video` is what `colorize film.mp4` (a stream, a camera, raw frames on stdin) runs, and what a Python
# program calls to colorize a video the way the command does:
#
#     outcome = jobs.run_video("film.mp4", jobs.Model("lsgan"))   # -> film_color.mp4
#     outcome.status, outcome.frames, outcome.record()

@dataclass
class VideoOutcome:
    """What became of one video: status "done", "skipped" (made with these settings already), "failed" or
    "interrupted" (Ctrl-C before the end of a video of known length). `record()` is its --json record,
    `line()` its line for people."""
    input: str
    target: str | None  # None: --show without -o (a window only); "-": raw frames on stdout
    status: str
    frames: int | None = None  # frames written; None: nothing was started (the source did not open)
    total: int | None = None  # the input's frames, where known
    fps: float | None = None  # frames colorized per second (done)
    error: str | None = None
    notes: list = field(default_factory=list)  # about the output, said before the frames run (e.g. audio re-encoded)
    interrupted: bool = False  # Ctrl-C came; a done live recording is complete up to there
    incomplete: str | None = None  # "12 of 30 frames": the file was kept marked so, and a rerun redoes it
    redone: str | None = None  # the file that was there stopped at this, and was redone
    stopped_early: str | None = None  # why the input ended before its end (truncated file, dropped stream)
    hinted: str | None = None  # what the hints or the reference were applied to
    audio: bool = False  # the output file carries the input's audio
    made_by: str | None = None  # skipped: what made the output, as now

    def record(self) -> dict:
        """The --json record (see cli.Report)."""
        record = {"type": "video", "input": self.input, "output": self.target, "status": self.status}
        if self.status == "skipped":
            return record
        if self.status == "failed":
            record["error"] = self.error
        if self.frames is None:
            return record
        if self.status == "done":
            return {**record, "frames": self.frames, "fps": round(self.fps, 2), "interrupted": self.interrupted,
                    "total": self.total, "complete": True}
        return {**record, "frames": self.frames, "total": self.total, "complete": False}

    def line(self) -> tuple:
        """The line for people: strings, or (string, style) pairs to print plainly."""
        kept = f"; kept {self.target}, marked incomplete ({self.incomplete}): a rerun redoes it" if self.incomplete else ""
        if self.status == "skipped":
            return (f"Nothing to do: {self.target} exists, made by {self.made_by} as now; --overwrite redoes it.",)
        if self.status == "failed":
            return ("Error: ", "red"), (self.error if self.frames is None else f"{self.input}: {self.error}{kept}")
        if self.status == "interrupted":
            return ("stopped by Ctrl-C", "yellow"), f" after {self.frames} frames{kept}"
        note = " (stopped by Ctrl-C; the file is complete up to there)" if self.interrupted else ""
        if self.stopped_early:
            note += f"; input ended early: {self.stopped_early}"
        if self.hinted:
            note += f"; {self.hinted}"
        redo = f" (redone: the existing file stopped at {self.redone})" if self.redone else ""
        written = self.target not in (None, "-")
        return ((f"{self.frames} frames", "bold"), f" colorized at {self.fps:.1f} frames/s"
                f"{' with its audio' if self.audio else ''}{' -> ' + self.target if written else ''}{note}{redo}")


class VideoInTheWay(UsageError):
    """The video's output exists but was made otherwise: nothing was done (exit 2); `record` is the
    --json record (status "conflict", "made_by")."""

    def __init__(self, message: str, record: dict):
        super().__init__(message)
        self.record = record


class VideoEvents:
    """What a video job says while it runs; the CLI overrides these to print lines and JSON records."""

    def note(self, spec: str, text: str) -> None:
        """Something about the output, before the frames run (e.g. audio the container cannot take)."""

    def progress(self, spec: str, total: int | None, target: str | None):
        """A context manager around the frames; what it yields is called with the count of frames written."""
        return contextlib.nullcontext(lambda count: None)


def video_target(spec: str, output: str | None, suffix: str = "_color", several: bool = False, codec: str | None = None,
                 show: bool = False) -> str | None:
    """Where a video goes: None (--show without -o: a window only), '-' (stdout), an explicit file, or
    NAME{suffix}.mp4 (.mkv for FFV1, .mov for ProRes) in -o's folder / beside the input."""
    from colorize_cli.video import STREAM_PREFIXES
    from colorize_cli.video_formats import default_extension

    if show and output is None:
        return None
    if output == "-":
        return "-"
    if output and not several and not Path(output).is_dir() and Path(output).suffix:  # no extension: a folder
        return output
    folder = Path(output) if output else None
    if spec == "camera":
        stem = "camera"
    elif spec == "-":
        stem = "stdin"
    elif spec.startswith(STREAM_PREFIXES):
        stem = Path(spec.split("?")[0].rstrip("/")).stem or "stream"
    else:
        stem, folder = Path(spec).stem, folder or Path(spec).parent
    return str((folder or Path(".")) / f"{stem}{suffix}{default_extension(codec)}")


def check_videos(specs: list[str], output: str | None, suffix: str = "_color", show: bool = False,
                 codec: str | None = None, crf: int | None = None) -> None:
    """--codec/--crf and each output's container, checked for every video before anything is done:
    UsageError if they do not fit. `specs`: as for `run_videos`."""
    from colorize_cli import video_formats

    if (codec is not None or crf is not None) and not specs:
        raise UsageError("--codec and --crf are for videos; for photos use --format")
    for spec in specs:
        target = video_target(spec, output, suffix, len(specs) > 1, codec, show)
        if target not in (None, "-"):
            try:
                video_formats.choose(target, codec, crf)
            except ColorizeError as exc:
                raise UsageError(str(exc)) from None
        elif codec is not None or crf is not None:
            raise UsageError("--codec and --crf apply to a video file output (-o NAME.mp4, .mkv, .mov, .webm); "
                             f"{'-o - writes raw frames' if target == '-' else '--show writes no file'}")


def run_videos(specs: list[str], model: Model, output: str | None = None, *, camera: int | None = None,
               **options):
    """Colorize each of `specs` (files, stream URLs, '-' for raw frames on stdin, 'camera' for camera
    `camera`) in turn, yielding each one's VideoOutcome; Ctrl-C on one stops the run after it (the rest are
    not started). `options`: as for `run_video`."""
    for spec in specs:
        outcome = run_video(spec, model, output, camera=camera if spec == "camera" else None, several=len(specs) > 1,
                            **options)
        yield outcome
        if outcome.status == "interrupted":
            return


def run_video(spec: str, model: Model, output: str | None = None, *, overwrite: bool = False, suffix: str = "_color",
              batch_size: int = 8, camera: int | None = None, raw_size: tuple[int, int] | None = None, fps: float = 25.0,
              show: bool = False, smooth: bool = True, start: float = 0.0, duration: float | None = None, reconnect: int = 0,
              several: bool = False, codec: str | None = None, crf: int | None = None, events: VideoEvents | None = None,
              stdout=None) -> VideoOutcome:
    """One video, stream or camera into its target (see `video_target`; `several`: one of several videos,
    so -o is a folder). A rerun skips an output made with the same model and settings, redoes one marked
    incomplete, and refuses one made otherwise (`VideoInTheWay`, unless `overwrite`). The first Ctrl-C
    finishes the frames in flight, the second stops at once; stopped (or failed) before the end of a video
    of known length, the file is kept playable but marked incomplete, so that a rerun redoes it. Raises
    UsageError for what the call asked that is not there (model, output), ColorizeError when the model or
    the sink cannot start; a source that does not open, or an error midway, is a "failed" outcome."""
    import signal
    import threading

    from colorize_cli import video, video_formats

    events = events or VideoEvents()
    target = video_target(spec, output, suffix, several, codec, show)
    try:
        fmt = video_formats.choose(target, codec, crf) if target not in (None, "-") else None
    except ColorizeError as exc:
        raise UsageError(str(exc)) from None
    live = spec in ("-", "camera") or spec.startswith(video.LIVE_PREFIXES)  # http(s) may serve a file
    provenance = model.provenance()
    if fmt:
        provenance = {**provenance, **video.settings(start, duration, smooth, fmt)}
    redone = None
    if target not in (None, "-"):
        if Path(target).resolve() == Path(spec).resolve():
            raise UsageError(f"{target}: output would overwrite the input; choose another -o or --suffix")
        state, record = ("none", None) if overwrite else video.existing_output(Path(target), provenance, live)
        if state == "other":
            made_by = "an earlier recording of a live source" if live and record else metadata.describe(record)
            raise VideoInTheWay(f"{target} exists but was made otherwise: by {made_by}. Nothing was done. "
                                f"To redo it with {metadata.describe(provenance)}, add --overwrite; to keep both, "
                                "choose another -o or --suffix.",
                                {"type": "video", "input": spec, "output": target, "status": "conflict", "made_by": made_by})
        if state == "same":
            return VideoOutcome(spec, target, "skipped", made_by=metadata.describe(provenance))
        if state == "incomplete":
            redone = record["incomplete"]
    try:
        source = video.open_source(spec if spec != "camera" else "", camera, raw_size, fps, start, duration, reconnect)
    except ColorizeError as exc:
        return VideoOutcome(spec, target, "failed", error=str(exc))
    info = source.info
    try:
        colorizer = model.load(batch_size)
        if show:
            sink = video.ShowSink(f"colorize {spec}")
        elif target == "-":
            sink = video.RawSink(stdout or sys.stdout.buffer)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            sink = video.PyAVSink(Path(target), info, source, fmt, provenance)
    except BaseException:
        source.close()
        raise
    notes = list(getattr(sink, "notes", []))
    for note in notes:
        events.note(spec, note)
    stop = threading.Event()
    interrupted = threading.Event()  # set only by Ctrl-C (`stop` is also set when a video simply ends)

    def on_interrupt(signum, frame):  # first Ctrl-C: finish the frames in flight and close a playable file
        interrupted.set()
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    main = threading.current_thread() is threading.main_thread()  # signal handlers can only be set there
    previous = signal.getsignal(signal.SIGINT)
    if main:
        signal.signal(signal.SIGINT, on_interrupt)
    result, error = None, None
    started = time.perf_counter()
    try:
        with events.progress(spec, info.frames, target) as on_frame:
            result = video.colorize_video(colorizer, source, sink, smooth=smooth, on_frame=on_frame, stop=stop, hints=model.hints)
        if result.frames == 0 and not interrupted.is_set():
            raise ColorizeError("no frames could be decoded (an empty or damaged video); nothing written"
                                + (f" — {result.stopped_early}" if result.stopped_early else ""))
    except KeyboardInterrupt:  # a second Ctrl-C: the threads have stopped (see colorize_video); close what was written
        interrupted.set()
        result = video.VideoResult(getattr(sink, "count", 0), time.perf_counter() - started, 0)
    except Exception as exc:
        error = exc
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        source.close()
    written = getattr(sink, "count", 0)
    # stopped before the end of a video of known length: kept (playable) but marked incomplete, so a rerun redoes it
    partial = error is not None or (interrupted.is_set() and info.frames is not None)
    incomplete = (f"{written} of {info.frames} frames" if info.frames else f"{written} frames") if partial else None
    try:
        sink.close(keep=error is None or written > 0, incomplete=incomplete) if isinstance(sink, video.PyAVSink) else sink.close()
    except ColorizeError as exc:
        error = error or exc
        written = 0
    outcome = VideoOutcome(spec, target, "done", frames=written, total=info.frames, notes=notes,
                           interrupted=interrupted.is_set(), redone=redone,
                           incomplete=incomplete if partial and written and target else None)
    if error is not None:
        outcome.status, outcome.error = "failed", str(error)
        return outcome
    if partial:
        outcome.status = "interrupted"
        return outcome
    outcome.frames, outcome.fps, outcome.stopped_early = result.frames, result.frames / max(result.seconds, 1e-9), result.stopped_early
    outcome.hinted = result.guide_note or None  # see video.VideoGuide: hints until the first cut, references per shot
    outcome.audio = target not in (None, "-") and getattr(sink, "audio", None) is not None
    return outcome


def not_images_line(others: list[str], verbose: bool) -> str:
    """Files that are not images, counted by extension on one line (--verbose names them)."""
    from colorize_cli import video

    kinds = Counter(Path(p).suffix.lower() or "(no extension)" for p in others)
    listed = ", ".join(f"{n} {ext}" for ext, n in kinds.most_common())
    videos = [p for p in others if video.is_video(p)]
    hint = f"; colorize videos by name (colorize {videos[0]})" if videos else ""
    return (f"not colorized: {len(others)} file{'s' if len(others) > 1 else ''} that {'are' if len(others) > 1 else 'is'} "
            f"not images ({listed}){hint}" + ("" if verbose else "; --verbose names them"))
