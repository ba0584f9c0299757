"""The `colorize` command line. Argument parsing, rich output and exit codes only: the work is done
in `pipeline`, `media`, `registry` and `train`, imported inside the commands so that
`colorize --help` starts instantly (no TensorFlow)."""

from __future__ import annotations

import difflib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from colorize_cli.errors import ColorizeError, OutputError

console = Console(stderr=True, highlight=False)
GROUP_OPTIONS = {"--help", "-h", "--version", "--install-completion", "--show-completion"}
DEFAULT_COMMAND = "colorize"


class DefaultCommandGroup(TyperGroup):
    """Route `colorize photo.jpg ...` to the `colorize` command: anything that is not a subcommand
    name or a group option becomes arguments of the default command. `colorize ./train` or
    `colorize -- train` colorizes a file named like a subcommand."""

    def parse_args(self, ctx, args):
        if args and args[0] == "--":
            args = [DEFAULT_COMMAND, *args[1:]]
        elif args and args[0] not in self.commands and args[0] not in GROUP_OPTIONS:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


class DefaultCommand(TyperCommand):
    """The default command's usage line reads `colorize [OPTIONS] [PATH]...`, as it is typed, not
    `colorize colorize …`."""

    def format_usage(self, ctx, formatter):
        path = ctx.parent.command_path if ctx.parent is not None else ctx.command_path
        formatter.write_usage(path, " ".join(self.collect_usage_pieces(ctx)))


def _value_placeholder(param, ctx):
    """Help shows what to type (NAME, PATH, N), not Python types (<str>, <list[str]>, <bool>): flags
    show nothing, options their metavar or one derived from their type."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    if param.metavar:
        return param.metavar
    kind = param.bare_type() if hasattr(param, "bare_type") else ""
    return {"int": "N", "float": "X", "Path": "PATH", "list[Path]": "PATH"}.get(kind, "TEXT")


def _argument_name(param, usage: bool = False) -> str:
    """FOLDER... / [PATH]...: upper case, brackets only around optional ones (typer writes {folders}...)."""
    name = param.metavar or param.name.upper()
    if usage and not param.required:
        name = f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


# typer >= 0.2x formats help through these; older versions never call them
TyperOption.display_type_rich = _value_placeholder
TyperArgument.display_type_rich = lambda self, ctx: None  # the argument's name says it
TyperArgument._rich_display_name = _argument_name
TyperArgument._usage_display_name = lambda self: _argument_name(self, usage=True)

app = typer.Typer(
    cls=DefaultCommandGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: one line per option at 80 columns, examples kept as written
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="""Colorize black-and-white photos, folders and videos; train and evaluate colorizers.

\b
  colorize photo.jpg                  -> photo_color.jpg beside it
  colorize archive/ -o out/           -> out/ mirrors archive/ (recursively)
  colorize film.mp4                   -> film_color.mp4, audio kept
  colorize -m colorful scan.tif       -> another model (see `colorize models`)
  colorize archive/ --json -q         -> one JSON line per photo, for scripts

\b
The options people need (all of them: colorize colorize --help):
  -o, --output PATH    output file or folder (default: beside each input, NAME_color.EXT)
  -m, --model NAME     model name or .keras file (default lsgan; see `colorize models`)
  --format FMT         jpg, png, tif or webp for every output (default: the input's)
  --overwrite          redo outputs that exist (a rerun skips those made with the same settings)
  --saturation X       more or less colour (default: the model's calibrated value)
  -q, --quiet          only errors;  --json: machine-readable results;  -v, --verbose: library logs

Outputs keep the input's EXIF, ICC profile and DPI, and record what made them (exiftool: Software).""",
)


def fail(message: str, code: int = 1):
    from rich.markup import escape

    console.print(f"[red]Error:[/red] {escape(message)}", soft_wrap=True)  # escaped: "pip install 'x[train]'" stays whole
    REPORT.record(type="error", error=message, exit_code=code)
    raise typer.Exit(code)


class Report:
    """How a command speaks. Human lines go to stderr: progress, notes and the summary (none with -q or
    --json), errors always, one line each. With --json, stdout carries one JSON object per line: one per
    input ({"type": "image" | "video", "input", "output", "status": "done" | "skipped" | "kept" | "failed" |
    "conflict" | "not_image", "error" or "made_by" where they apply}), then {"type": "summary", "done",
    "skipped", "failed", "not_images", "model", "weights", "saturation", "exit_code"}, or {"type": "error",
    "error", "exit_code"} when the command stops."""

    def __init__(self):
        self.configure()

    def configure(self, quiet: bool = False, json_lines: bool = False, verbose: bool = False):
        self.json, self.verbose, self.quiet = json_lines, verbose, quiet or json_lines

    def info(self, text: str):
        if not self.quiet:
            console.print(text, soft_wrap=True)

    def warn(self, text: str):
        if not self.quiet:
            console.print(f"[yellow]note:[/yellow] {escape(text)}", soft_wrap=True)

    def detail(self, text: str):
        """Only with --verbose (e.g. the name of each file that is not colorized)."""
        if self.verbose and not self.quiet:
            console.print(text, soft_wrap=True, markup=False)

    def failed(self, job, message: str, out=None):
        (out or console).print(f"[red]failed:[/red] {escape(message)}", soft_wrap=True)
        self.record(type="image", input=str(job.source), output=str(job.target), status="failed", error=message)

    def record(self, **fields):
        if self.json:
            import json

            print(json.dumps(fields, ensure_ascii=False), flush=True)


REPORT = Report()
VerboseOption = typer.Option(False, "-v", "--verbose", help="Show the libraries' own log lines (TensorFlow, OpenCV, FFmpeg) and name every file left out.")


def version_callback(value: bool):
    if value:
        from colorize_cli import __version__

        typer.echo(f"colorize {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, help="Show the version and exit.")):
    """Colorize black-and-white photos and folders with GAN or CNN colorizers trained by this tool."""
    REPORT.configure()  # each command sets its own output mode


ModelOption = typer.Option("lsgan", "-m", "--model", envvar="COLORIZE_MODEL", metavar="NAME", help="Model name (see `colorize models`) or path to a .keras or .tflite file.")
BackendOption = typer.Option("auto", "--backend", envvar="COLORIZE_BACKEND", help="auto: the model's bundled .tflite on LiteRT when it has one (TensorFlow where it sees a GPU); litert; tf: the .keras through TensorFlow.")


@app.command(DEFAULT_COMMAND, cls=DefaultCommand)
def colorize_command(
    paths: Optional[List[str]] = typer.Argument(None, metavar="PATH", help="Images, folders (searched recursively), videos, stream URLs "
                                                         "(rtsp://, http://…), or - for raw frames on stdin.", show_default=False),
    model: str = ModelOption,
    output: Optional[str] = typer.Option(None, "-o", "--output", metavar="PATH", help="Output file (one input) or folder; - for stdout (raw bgr24). Default: beside each file as NAME_color.EXT; a folder goes to FOLDER_color/; a video to NAME_color.mp4."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo outputs that already exist (default: skip them, so a rerun resumes)."),
    suffix: str = typer.Option("_color", "--suffix", help="Added to names written beside their input, and to a folder's default output folder."),
    fmt: Optional[str] = typer.Option(None, "--format", metavar="FMT", help="Output format for every image: jpg, png, tif, webp, bmp. Default: the input's."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, max=256, help="Images or frames per model call."),
    camera: Optional[int] = typer.Option(None, "--camera", help="Colorize a live camera (index, e.g. 0)."),
    raw: Optional[str] = typer.Option(None, "--raw", metavar="WxH", help="With '-': stdin carries raw gray8 frames of WIDTHxHEIGHT, e.g. 640x360."),
    fps: float = typer.Option(25.0, "--fps", min=0.1, help="Frame rate of --raw input or of a camera's recording."),
    show: bool = typer.Option(False, "--show", help="Preview window (key o: original beside it; q: stop)."),
    smooth: bool = typer.Option(True, "--smooth/--no-smooth", help="Video: blend colours over time (reset at scene cuts) to stop flicker."),
    start: float = typer.Option(0.0, "--start", min=0.0, help="Video: start at this second."),
    duration: Optional[float] = typer.Option(None, "--duration", min=0.0, help="Video: process this many seconds."),
    reconnect: int = typer.Option(0, "--reconnect", min=0, help="Streams: reopen a dropped stream up to N times, then end cleanly."),
    max_pixels: int = typer.Option(250_000_000, "--max-pixels", min=1, help="Refuse images larger than this (checked before decoding)."),
    saturation: Optional[float] = typer.Option(None, "--saturation", min=0.0, max=4.0, help="Scale the predicted colour: 0 gray, 1 as predicted, >1 more vivid. Default: the model's calibrated value (`colorize models`)."),
    backend: str = BackendOption,
    engine: str = typer.Option("local", "--engine", help="Who runs a folder job: local (this process) or ray (Ray Data actors on a Ray cluster; pip install 'colorize-cli[ray]')."),
    address: Optional[str] = typer.Option(None, "--address", metavar="ADDR", help="--engine ray: the cluster to run on (host:port of `ray start --head`, or auto); default: a local Ray instance for this run."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, metavar="N", help="--engine ray: colorizing actors, one loaded model each (default: one per 2 CPUs, or per GPU)."),
    hints_file: Optional[Path] = typer.Option(None, "--hints", metavar="FILE", help="Colours you know, for one photo or video: an RGBA image of its aspect ratio whose opaque pixels are hints of their colour, or a copy of it with colour painted on, or a NAME.hints.json saved by `colorize studio`. Spread over the automatic colour along the photo's edges; on a video, until the first scene cut."),
    hint: Optional[List[str]] = typer.Option(None, "--hint", metavar="X,Y,COLOR", help="A colour you know at pixel X,Y of the input (from the top-left), as #RRGGBB or a CSS name: --hint 120,80,#b22222. Repeatable; combines with --hints."),
    hint_size: int = typer.Option(5, "--hint-size", min=1, metavar="N", help="Side in pixels of the square patch each --hint colours."),
    hint_reach: float = typer.Option(1.0, "--hint-reach", metavar="X", help="How far hints spread, in picture sizes, each edge crossed counting extra: 1 (default) the hint's own region; 0.25 only near it; 4 or more: across most of the photo (a global shift); inf: pure Levin, every region it connects to."),
    reference: Optional[List[Path]] = typer.Option(None, "--reference", metavar="FILE", help="A colour photo to take colours from (same scene, a coloured keyframe, the same uniform), or a folder of them: matched to each input by lightness and applied where it matches; --hint wins. Repeatable; on a video, until the first scene cut."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only errors, one line each; the exit code tells the rest."),
    json_lines: bool = typer.Option(False, "--json", help="Print one JSON object per line on stdout: one per input, then a summary; human lines are left out."),
    verbose: bool = VerboseOption,
):
    """Colorize images, folders, videos and streams (the default command: `colorize PATH...`).

    \b
      colorize photo.jpg                     -> photo_color.jpg beside it
      colorize scans/ -o out/                -> out/ mirrors scans/ (recursively)
      colorize -m colorful scan.tif -o x.png -> another model, an explicit output
      colorize film.mp4 --start 60 --duration 30

    A rerun skips outputs made with the same model and settings and stops, doing nothing, if some were
    made otherwise: --overwrite redoes them, another -o keeps both. Outputs keep the input's EXIF, ICC
    profile and DPI and record what made them. Exit code: 0 all done, 1 some failed, 2 usage error or
    outputs in the way."""
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries(verbose)
    REPORT.configure(quiet=quiet, json_lines=json_lines, verbose=verbose)
    from colorize_cli import media, video

    paths = list(paths or [])
    if camera is None and not paths:
        fail("nothing to colorize: give image files, folders, videos, a stream URL, - (with --raw) or --camera N", 2)
    streams = [p for p in paths if p == "-" or p.startswith(video.STREAM_PREFIXES)]
    stored = [p for p in paths if p not in streams and is_uri(p)]  # s3://, gs://, hdfs://, file:// folders (--engine ray)
    local = [Path(p) for p in paths if p not in streams and p not in stored]
    missing = [p for p in local if not p.exists()]
    if missing:
        p = missing[0]
        close = difflib.get_close_matches(str(p), [c for c in app_commands() if c != DEFAULT_COMMAND], n=1)
        hint = f" (did you mean the '{close[0]}' command?)" if close else "; check the path"
        fail(f"{p}: no such file or folder{hint}", 2)
    videos = [str(p) for p in local if p.is_file() and video.is_video(p)] + streams
    images = [p for p in local if str(p) not in videos]
    raw_size = parse_size(raw) if raw else None
    if json_lines and output == "-":
        fail("--json and -o - both write to stdout; write the video to a file or leave out --json", 2)

    model = ModelChoice(model, saturation, backend)
    model.engine = engine_choice(engine, address, workers, videos)
    if hints_file is not None or hint or reference:
        from colorize_cli.hints import HintSpec

        inputs = len(videos) + len(images) + (camera is not None)
        if (hints_file is not None or hint) and (inputs != 1 or (images and images[0].is_dir())):
            fail("--hint and --hints are for one photo or one video (their pixels belong to it); give one file", 2)
        try:
            model.hints = HintSpec.parse(hints_file, hint or [], hint_size, hint_reach, reference or [])
        except ColorizeError as exc:
            fail(str(exc), 2)
        model.provenance_extra["hints"] = model.hints.describe()
    counts = {"done": 0, "skipped": 0, "failed": 0, "not_images": 0}
    if stored or (images and is_uri(output)):
        for key, value in colorize_stored([*stored, *map(str, images)], model, output, overwrite, fmt, batch_size,
                                          max_pixels).items():
            counts[key] += value
    elif images:
        for key, value in colorize_images(images, model, Path(output) if output else None, overwrite, suffix, fmt, batch_size,
                                          media, max_pixels).items():
            counts[key] += value
    for spec in videos + (["camera"] if camera is not None else []):
        status = colorize_one_video(spec, model, output, overwrite, suffix, batch_size, camera if spec == "camera" else None,
                                    raw_size, fps, show, smooth, start, duration, reconnect, several=len(videos) > 1)
        counts[status] += 1
    code = 1 if counts["failed"] else 0
    REPORT.record(type="summary", **counts, **model.settings(), exit_code=code)
    if code:
        raise typer.Exit(code)


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
        assert width > 0 and height > 0
        return width, height
    except (ValueError, AssertionError):
        fail(f"--raw {text!r}: expected WIDTHxHEIGHT, e.g. 640x360", 2)


@dataclass
class ModelChoice:
    """--model and the options that adjust it, passed as one value to the image and video paths."""
    name: str
    saturation: float | None = None
    backend: str = "auto"  # see pipeline.choose_backend
    # further items every output records about what made it (e.g. hints: {"hints": "12 points"}); the
    # rerun check compares them too, so an output made with other hints is not taken as done
    provenance_extra: dict = field(default_factory=dict)
    _provenance: dict | None = field(default=None, repr=False)
    hints: object = None  # a hints.HintSpec (--hints, --hint): colours the user knows, for the one input
    engine: object = None  # an EngineChoice (--engine ray): who runs a folder job; None: this process

    def provenance(self) -> dict:
        """What every output will record as having made it (tool, model, weights, saturation, extras),
        resolved from the card without loading the network; an unknown model fails here (exit 1)."""
        if self._provenance is None:
            from colorize_cli import __version__, registry
            from colorize_cli.pipeline import choose_backend

            try:
                backend, tflite = choose_backend(self.name, self.backend)
                if backend == "litert":  # the file that runs is the .tflite: its outputs are its own
                    card, weights = tflite
                    sha = card.tflite.get("sha256")
                else:
                    card, weights = registry.resolve(self.name)
                    sha = card.sha256
            except ColorizeError as exc:
                fail(str(exc))
            saturation = card.saturation if self.saturation is None else self.saturation
            self._provenance = {"tool": f"colorize {__version__}", "model": card.name,
                                "weights": (sha or registry.file_sha256(weights))[:12], "saturation": float(saturation),
                                **self.provenance_extra}
        return self._provenance

    def settings(self) -> dict:
        """The provenance items for --json records (only once they have been resolved)."""
        return {k: v for k, v in (self._provenance or {}).items() if k != "tool"}


@dataclass
class EngineChoice:
    """--engine and its options: who runs the folder job (see `ray_engine`)."""
    name: str = "local"
    address: str | None = None
    workers: int | None = None


def engine_choice(name: str, address: str | None, workers: int | None, videos: list) -> EngineChoice | None:
    if name not in ("local", "ray"):
        fail(f"--engine {name!r}: choose local or ray", 2)
    if name == "local" and (address or workers):
        fail("--address and --workers apply to --engine ray", 2)
    if name == "ray" and videos:
        fail("--engine ray runs image files and folders; colorize videos without it", 2)
    return EngineChoice(name, address, workers) if name == "ray" else None


def load_colorizer(model: ModelChoice, batch_size: int, engine=None):
    try:
        if engine is not None and engine.name == "ray":  # same interface as Colorizer, run by Ray actors
            from colorize_cli.ray_engine import RayColorizer

            return RayColorizer(model.name, batch_size, model.saturation, model.backend, engine.address, engine.workers)
        from colorize_cli.pipeline import Colorizer

        return Colorizer(model.name, batch_size=batch_size, saturation=model.saturation, backend=model.backend)
    except ColorizeError as exc:
        fail(str(exc))


def colorize_images(paths, model, output, overwrite, suffix, fmt, batch_size, media, max_pixels) -> dict:
    """Colorize image files and folders; returns the counts for the summary."""
    from colorize_cli import metadata

    others: list[Path] = []
    try:
        jobs = media.plan(paths, output, suffix, fmt, others=others)
    except ColorizeError as exc:
        fail(str(exc), 2)
    report_not_images(others)
    if not jobs:
        fail(f"no images found in {', '.join(map(str, paths))}", 1)
    provenance = model.provenance()
    found = media.check_existing(jobs, provenance, overwrite)
    if found.other:
        refuse_other_outputs(found, provenance, len(jobs))
    for status, kept in (("skipped", found.same), ("kept", found.unrecorded)):
        for job in kept:
            REPORT.record(type="image", input=str(job.source), output=str(job.target), status=status)
    skipped = len(found.same) + len(found.unrecorded)
    kept_note = (f"; {len(found.unrecorded)} existing BMP outputs cannot record what made them and were kept"
                 if found.unrecorded else "")
    todo = found.todo
    if not todo:
        what = f"{escape(str(jobs[0].target))} exists" if len(jobs) == 1 else f"all {len(jobs)} outputs exist"
        REPORT.info(f"Nothing to do: {what}, made by {metadata.describe(provenance)} as now{kept_note}; "
                    f"--overwrite redoes {'it' if len(jobs) == 1 else 'them'}.")
        return {"skipped": skipped, "not_images": len(others)}
    failures = []
    for job in todo:  # header-only size check first: a bomb is refused in milliseconds, before the model loads
        try:
            media.check_pixels(job.source, max_pixels)
        except ColorizeError as exc:
            failures.append((job, str(exc)))
            REPORT.failed(job, str(exc))
    refused = {job for job, _ in failures}
    todo_ok = [job for job in todo if job not in refused]
    if todo_ok:
        carried = {}  # job -> the input's metadata, from its reading to its writing (worker threads)

        def load(job):  # sizes were checked above, so the workers decode without reading each header again
            image, carried[job] = media.read_photo(job.source, max_pixels=None)
            return image

        def save(job, image):
            media.write_image(job.target, image, carried.pop(job, None), provenance)

        hints_of = photo_hints(model.hints, todo_ok[0], media) if model.hints is not None else None
        try:
            failures += run_jobs(load_colorizer(model, batch_size, model.engine), todo_ok, load, save, hints_of)
        except ColorizeError as exc:  # the Ray cluster itself failed (not one photo): one line, finished files kept
            fail(str(exc))
    done = len(todo) - len(failures)
    REPORT.info(f"[bold]{done} colorized[/bold], {skipped} skipped (made with these settings), {len(failures)} failed"
                + (f" — output: {escape(str(todo[0].target if len(jobs) == 1 else common_root(todo)))}" if done else "") + kept_note)
    return {"done": done, "skipped": skipped, "failed": len(failures), "not_images": len(others)}


def is_uri(text: str | None) -> bool:
    from colorize_cli.storage import is_uri

    return is_uri(text)


def colorize_stored(locations: list[str], model, output, overwrite, fmt, batch_size, max_pixels) -> dict:
    """A folder on remote storage (s3://, gs://, hdfs://, file://; see `storage`) on --engine ray: planned there,
    run by the same `run_jobs` as local folders; returns the counts for the summary."""
    from colorize_cli import storage

    if model.engine is None:
        fail(f"{next(p for p in [*locations, output] if is_uri(p))}: folders on remote storage run on --engine ray", 2)
    if len(locations) != 1 or not output:
        fail("remote storage: give one source folder and an output folder (-o)", 2)
    try:
        jobs, others = storage.plan(locations[0], output, fmt)
    except ColorizeError as exc:
        fail(str(exc), 2)
    for other in others:
        REPORT.record(type="image", input=other, status="not_image")
        REPORT.detail(f"not an image, not colorized: {other}")
    if others:
        REPORT.warn(f"not colorized: {len(others)} file{'s' if len(others) > 1 else ''} that {'are' if len(others) > 1 else 'is'} "
                    "not images" + ("" if REPORT.verbose else "; --verbose names them"))
    if not jobs:
        fail(f"no images found in {locations[0]}", 1)
    provenance = model.provenance()
    try:
        there = set() if overwrite else storage.existing(jobs)
    except (ColorizeError, OSError) as exc:
        fail(str(exc), 2)
    for job in there:
        REPORT.record(type="image", input=job.source, output=job.target, status="skipped")
    todo = [job for job in jobs if job not in there]
    if not todo:
        REPORT.info(f"Nothing to do: all {len(jobs)} outputs exist in {output}; --overwrite redoes them.")
        return {"skipped": len(there), "not_images": len(others)}
    carried = {}  # job -> the input's metadata, from its reading to its writing (in the same actor)

    def load(job):
        image, carried[job] = storage.read(job.source, max_pixels)
        return image

    def save(job, image):
        storage.write(job.target, image, carried.pop(job, None), provenance)

    try:
        failures = run_jobs(load_colorizer(model, batch_size, model.engine), todo, load, save)
    except ColorizeError as exc:
        fail(str(exc))
    done = len(todo) - len(failures)
    REPORT.info(f"[bold]{done} colorized[/bold], {len(there)} skipped (already there), {len(failures)} failed"
                + (f" — output: {output}" if done else ""))
    return {"done": done, "skipped": len(there), "failed": len(failures), "not_images": len(others)}


def report_not_images(others: list[Path]) -> None:
    """Files in the folders that are not images: counted by extension on one line (--verbose names them)."""
    from collections import Counter

    from colorize_cli import video

    if not others:
        return
    for path in others:
        REPORT.record(type="image", input=str(path), status="not_image")
        REPORT.detail(f"not an image, not colorized: {path}")
    kinds = Counter(p.suffix.lower() or "(no extension)" for p in others)
    listed = ", ".join(f"{n} {ext}" for ext, n in kinds.most_common())
    videos = [p for p in others if video.is_video(p)]
    hint = f"; colorize videos by name (colorize {videos[0]})" if videos else ""
    REPORT.warn(f"not colorized: {len(others)} file{'s' if len(others) > 1 else ''} that {'are' if len(others) > 1 else 'is'} "
                f"not images ({listed}){hint}" + ("" if REPORT.verbose else "; --verbose names them"))


def refuse_other_outputs(found, provenance: dict, total: int) -> None:
    """Some outputs exist but were made otherwise: say by what, do nothing, exit 2 with the two fixes."""
    from colorize_cli import metadata

    count = sum(len(jobs) for jobs in found.other.values())
    for made_by, jobs in found.other.items():
        for job in jobs:
            REPORT.record(type="image", input=str(job.source), output=str(job.target), status="conflict", made_by=made_by)
            REPORT.detail(f"made otherwise: {job.target} — {made_by}")
    groups = "; ".join(f"{len(jobs)} by {made_by}" if count > 1 else f"by {made_by}" for made_by, jobs in found.other.items())
    example = next(iter(found.other.values()))[0].target
    now = metadata.describe(provenance)
    which = f"{example} exists but was" if count == 1 else f"{count} of {total} outputs exist (e.g. {example}) but were"
    fail(f"{which} made otherwise: {groups}. Nothing was done. To redo {'it' if count == 1 else 'them'} with "
         f"{now}, add --overwrite; to keep both, choose another -o or --suffix.", 2)


def video_target(spec: str, output: str | None, suffix: str, several: bool) -> str:
    """Where a video goes: '-' (stdout), an explicit file, or NAME{suffix}.mp4 in -o's folder / beside the input."""
    from colorize_cli.video import STREAM_PREFIXES

    if output == "-":
        return "-"
    if output and not several and not Path(output).is_dir():
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
    return str((folder or Path(".")) / f"{stem}{suffix}.mp4")


def colorize_one_video(spec, model, output, overwrite, suffix, batch_size, camera, raw_size, fps, show, smooth, start, duration,
                       reconnect, several) -> str:
    """One video, stream or camera; returns its status for the summary: done, skipped or failed."""
    import signal
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from colorize_cli import video

    from colorize_cli import metadata

    target = None if show and output is None else video_target(spec, output, suffix, several)
    provenance = model.provenance()
    if target not in (None, "-"):
        if Path(target).resolve() == Path(spec).resolve():
            fail(f"{target}: output would overwrite the input; choose another -o or --suffix", 2)
        if Path(target).exists() and not overwrite:
            record = video.read_provenance(Path(target))
            if not metadata.same_settings(record, provenance):
                REPORT.record(type="video", input=spec, output=target, status="conflict", made_by=metadata.describe(record))
                fail(f"{target} exists but was made otherwise: by {metadata.describe(record)}. Nothing was done. "
                     f"To redo it with {metadata.describe(provenance)}, add --overwrite; to keep both, choose another -o or --suffix.", 2)
            REPORT.record(type="video", input=spec, output=target, status="skipped")
            REPORT.info(f"Nothing to do: {escape(target)} exists, made by {metadata.describe(provenance)} as now; --overwrite redoes it.")
            return "skipped"
    try:
        source = video.open_source(spec if spec != "camera" else "", camera, raw_size, fps, start, duration, reconnect)
    except ColorizeError as exc:
        console.print(f"[red]Error:[/red] {exc}", soft_wrap=True)
        REPORT.record(type="video", input=spec, output=target, status="failed", error=str(exc))
        return "failed"
    colorizer = load_colorizer(model, batch_size)
    info = source.info
    try:
        if show:
            sink = video.ShowSink(f"colorize {spec}")
        elif target == "-":
            sink = video.RawSink(sys.stdout.buffer)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            sink = video.PyAVSink(Path(target), info, source, comment=metadata.provenance_text(provenance))
    except ColorizeError as exc:
        source.close()
        fail(str(exc))
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    interrupted = threading.Event()  # set only by Ctrl-C (`stop` is also set when a video simply ends)

    def on_interrupt(signum, frame):  # first Ctrl-C: finish the frames in flight and close a playable file
        interrupted.set()
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, on_interrupt)
    columns = [TextColumn(f"[bold]{Path(spec).name if spec not in ('-', 'camera') else spec}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]
    started = time.perf_counter()
    result, error = None, None
    try:
        with Progress(*columns, console=console, disable=REPORT.quiet or (target == "-" and not console.is_terminal)) as progress:
            task = progress.add_task("video", total=info.frames, rate="")

            def on_frame(count):
                elapsed = time.perf_counter() - started
                progress.update(task, completed=count, rate=f"{count / max(elapsed, 1e-9):.1f} frames/s")

            result = video.colorize_video(colorizer, source, sink, smooth=smooth, on_frame=on_frame, stop=stop, hints=model.hints)
        if result.frames == 0 and not interrupted.is_set():
            raise ColorizeError("no frames could be decoded (an empty or damaged video); nothing written"
                                + (f" — {result.stopped_early}" if result.stopped_early else ""))
    except Exception as exc:
        error = exc
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
        source.close()
        sink.close(keep=error is None or (stop.is_set() and interrupted.is_set()))
    if error is not None:
        console.print(f"[red]Error:[/red] {spec}: {error}", soft_wrap=True)
        REPORT.record(type="video", input=spec, output=target, status="failed", error=str(error))
        return "failed"
    note = " (stopped by Ctrl-C; the file is complete up to there)" if interrupted.is_set() else ""
    if result.stopped_early:
        note += f"; input ended early: {result.stopped_early}"
    if model.hints is not None:
        cut = "until the first scene cut" if result.hinted_frames < result.frames else "no scene cut"
        what = "hints" if model.hints.has_pixels else "the reference"
        note += f"; {what} applied to the first {result.hinted_frames} frames ({cut})"
    audio = "" if target in (None, "-") else (" with its audio" if info.has_audio else "")
    rate = result.frames / max(result.seconds, 1e-9)
    REPORT.info(f"[bold]{result.frames} frames[/bold] colorized at {rate:.1f} frames/s"
                f"{audio}{' -> ' + escape(target) if target not in (None, '-') else ''}{escape(note)}")
    REPORT.record(type="video", input=spec, output=target, status="done", frames=result.frames, fps=round(rate, 2),
                  interrupted=interrupted.is_set())
    return "done"


def photo_hints(spec, job, media):
    """The hints resolved against the one photo before the model loads, so that hints which do not fit it
    stop the command with one line (exit 2); returns the pipeline's hints_of. An unreadable photo is left
    to the usual per-photo report. A reference alone is matched to each photo in turn."""
    if not spec.has_pixels:
        return lambda job, image: spec.resolve(image)
    try:
        hints = spec.resolve(media.read_photo(job.source, max_pixels=None)[0])
    except media.ImageReadError:
        return None
    except ColorizeError as exc:
        fail(f"{job.source}: {exc}", 2)
    return lambda job, image: hints


def run_jobs(colorizer, jobs, load, save, hints_of=None) -> list:
    """Run `jobs` through the colorizer (`load(job) -> image`, `save(job, image)` in worker threads) with a
    progress bar; returns [(job, message)] for the failures, each reported on one line as it happens."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    failures = []
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]
    started = time.perf_counter()
    hidden = REPORT.quiet or (not console.is_terminal and len(jobs) < 2)
    with Progress(*columns, console=console, transient=False, disable=hidden) as progress:
        task = progress.add_task(f"colorizing with {colorizer.name}", total=len(jobs), rate="")
        results = colorizer.run(jobs, load=load, save=save, hints_of=hints_of)
        for count, (job, _, error) in enumerate(results, start=1):
            if error is None:
                REPORT.record(type="image", input=str(job.source), output=str(job.target), status="done")
            else:
                message = str(error) if isinstance(error, ColorizeError) else f"{job.source}: {type(error).__name__}: {error}"
                failures.append((job, message))
                REPORT.failed(job, message, progress.console)
                if isinstance(error, OutputError):  # the disk or folder, not this photo: stop instead of failing the rest
                    results.close()  # lets the writes in flight finish or fail cleanly
                    left = [j for j in jobs[count:] if not j.target.exists()]
                    failures.extend((j, "not attempted") for j in left)
                    for j in left:
                        REPORT.record(type="image", input=str(j.source), output=str(j.target), status="failed", error="not attempted")
                    progress.console.print(f"[red]stopped:[/red] {len(left)} photos not done", soft_wrap=True)
                    break
            rate = count / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, rate=f"{rate:.1f} img/s")
    return failures


def common_root(jobs) -> Path:
    return Path(os.path.commonpath([str(j.target.parent) for j in jobs]))


@app.command("models")
def models_command():
    """List the models: where each name comes from, what it loads, its quality and its data terms."""
    from rich import box
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from colorize_cli import registry

    try:
        listings = registry.listings()
    except ColorizeError as exc:
        fail(str(exc))
    table = Table(title="colorize models", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="*: default · sat.: saturation · kodak24: PSNR dB (gray baseline 22.46) · colour: colourfulness "
                          "as % of the truth's", caption_justify="left")
    for column in ("name", "network", "loss", "sat.", "kodak24", "colour"):
        table.add_column(column, no_wrap=column != "loss", justify="right" if column in ("sat.", "kodak24", "colour") else "left")
    for listing in listings:
        card = listing.card
        kodak = card.metrics.get("kodak24", {})
        terms = [card.objective if card.adv == 1 else f"{card.adv:g}·{card.objective}"] if card.adv else []
        terms += [f"{w:g}·{n}" if w != 1 else n for w, n in ((card.l1, "L1"), (card.l2, "L2")) if w]
        table.add_row(listing.name + (" *" if listing.name == registry.DEFAULT_MODEL else ""),
                      f"{card.arch} w{card.width}@{card.input_size}", "+".join(terms), f"{card.saturation:g}",
                      f"{kodak['psnr']:.2f}" if "psnr" in kodak else "—",
                      f"{kodak['colorfulness_ratio']:.0%}" if "colorfulness_ratio" in kodak else "—")
    out = Console(highlight=False)
    out.print(table)
    out.print("[bold]Where each name comes from[/bold] (user: your models folder, searched first; bundled: shipped; "
              "recipe: train it to use it) and the file `colorize -m NAME` loads:")
    for listing in listings:
        card = listing.card
        runs_on = backend_label(card)
        path = card.tflite_path if runs_on.startswith("LiteRT") else card.weights_path
        if listing.origin == "recipe" or path is None:
            where = "no weights here"
        else:
            present = path.is_file()
            where = f"{short_path(path)} on {runs_on}" if present else f"{short_path(path)} is missing"
            if present and card.weights and not card.has_weights:
                where += f" (no {card.weights} in this install: Keras weights are in the source checkout)"
        hidden = f"; hides {', '.join(map(short_path, listing.hides))}" if listing.hides else ""
        out.print(f"  {listing.name} ({listing.origin}): {where}{hidden}", soft_wrap=True, markup=False)
    out.print("[bold]Licences[/bold]: the code is MIT. Trained weights carry the terms of the photos they were trained on:")
    by_terms: dict[str, list[str]] = {}
    for listing in listings:
        if listing.card.runnable:
            by_terms.setdefault(data_terms(listing.card), []).append(listing.name)
    for terms, names in by_terms.items():
        out.print(Padding(Text(f"{', '.join(names)}: {terms}"), (0, 0, 0, 2)))


def short_path(path: Path) -> str:
    """A path as a user would type it: relative to the current folder or home when under them."""
    path = Path(path).resolve()
    for base, shown in ((Path.cwd(), ""), (Path.home(), "~/")):
        try:
            return shown + str(path.relative_to(base))
        except ValueError:
            continue
    return str(path)


def data_terms(card) -> str:
    """The training data's terms as its card states them (bundled models: the photos' licences); for a
    model trained here without a statement, where its photos came from."""
    training = card.training or {}
    terms = training.get("terms")
    if terms:
        return terms
    if training.get("data"):
        return f"trained on {training['data']}: the terms of those photos apply (not stated on the card)"
    return "not stated on the card: ask whoever trained it"


def backend_label(card) -> str:
    """What `--backend auto` runs for this card, decided without importing TensorFlow."""
    if card.has_tflite and card.tflite_is_current:
        return f"LiteRT {card.tflite.get('precision', '')}".strip()
    return "TensorFlow" if card.has_weights else "—"


@app.command("studio")
def studio_command(
    path: Path = typer.Argument(Path("."), metavar="PHOTO|FOLDER", help="A photo, or a folder whose photos the page lists (default: here)."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port on 127.0.0.1 (default: a free one)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the address only; do not open the default browser."),
    verbose: bool = VerboseOption,
):
    """A local web page to click hints onto a photo and watch the colour change; Save writes NAME_color.EXT
    and NAME.hints.json (`colorize NAME --hints NAME.hints.json` makes the same file). Ctrl-C stops it.

    Serves 127.0.0.1 only, to the address it prints (with its random token), and only the photo's folder."""
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries(verbose)
    from colorize_cli import studio

    def provenance(name: str, saturation: float, extra: dict) -> dict:  # exactly what `colorize` records
        return ModelChoice(name, saturation, provenance_extra=extra).provenance()

    def log(line: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {escape(line)}", soft_wrap=True)

    def ready(url: str) -> None:
        console.print(f"[bold]colorize studio[/bold] serving {escape(str(path))} at {url} — Ctrl-C stops it", soft_wrap=True)

    try:
        studio.serve(studio.Studio(path, provenance, log), port, open_browser=not no_browser, on_ready=ready)
    except ColorizeError as exc:
        fail(str(exc), 2)
    console.print("stopped")


@app.command("eval")
def eval_command(
    folders: List[Path] = typer.Argument(..., metavar="FOLDER", help="Folders of colour photos (made gray, colorized, compared with the originals); "
                                                   "black-and-white folders are colorized and shown without scores.", show_default=False),
    models: List[str] = typer.Option(["lsgan"], "-m", "--model", metavar="NAME", help="Model name or .keras path; repeat for several; 'all' = every model with weights."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for metrics.json/.csv, report.md and the comparison grids."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate a random subset of N photos per folder (see --seed)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the --limit subset."),
    grid_rows: int = typer.Option(8, "--grid-rows", min=1, help="Photos per comparison grid."),
    classifier: Optional[Path] = typer.Option(None, "--classifier", help="A TFLite ImageNet classifier (e.g. MobileNetV2): also report whether it still recognises each colorized photo (top-5 agreement with its class for the truth, KL divergence)."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only errors; the report is still written."),
    json_lines: bool = typer.Option(False, "--json", help="Print one JSON object per line on stdout: one per photo and model, then one summary per folder and model."),
    verbose: bool = VerboseOption,
):
    """Score models against the gray baseline: PSNR, SSIM, ΔE2000, AuC, colourfulness, images/s; tables, grids, plot.

    \b
      colorize eval kodak24/ -m lsgan -m gan       -> tables here, report/ with grids and metrics
      colorize eval photos/ -m all --limit 50 --json > scores.jsonl
    """
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries(verbose)
    REPORT.configure(quiet=quiet, json_lines=json_lines, verbose=verbose)
    from rich import box
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from colorize_cli import evaluate, registry

    for folder in folders:
        if not folder.is_dir():
            fail(f"{folder}: not a folder; give folders of photos", 2)
    try:
        names = [n for n, c in sorted(registry.list_models().items()) if c.runnable] if models == ["all"] else models
        from colorize_cli.pipeline import Colorizer

        colorizers = [Colorizer(name) for name in names]
        if classifier is not None:
            from colorize_cli.recognition import Classifier

            classifier = Classifier(classifier)
    except ColorizeError as exc:
        fail(str(exc))
    results = []
    for folder in folders:
        columns = [TextColumn(f"[bold]{folder.name}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=console, transient=True, disable=REPORT.quiet) as progress:
            task = progress.add_task("eval", total=0)

            def step(advance=1, more=0):  # photos read, colorized and scored: one bar with an ETA
                if more:
                    progress.update(task, total=progress.tasks[0].total + more)
                progress.update(task, advance=advance)

            try:
                result = evaluate.evaluate_dataset(folder, colorizers, limit, seed, classifier=classifier, step=step)
            except ColorizeError as exc:
                fail(str(exc))
        if not result.photos:
            fail(f"{folder}: no images found", 1)
        results.append(result)
        for row in result.rows:
            REPORT.record(type="image", **row)
        for model, means in result.means().items():
            REPORT.record(type="summary", dataset=result.name, model=model, **means)
        header, rows = evaluate.table_rows(result)
        caption = EVAL_CAPTION
        if "top-5" in header:  # the semantic columns: SSIM and AuC stay in report.md, so the table fits 80 columns
            keep = [i for i, column in enumerate(header) if column not in ("SSIM", "AuC")]
            header, rows = [header[i] for i in keep], [[row[i] for i in keep] for row in rows]
            caption += EVAL_SEMANTIC_CAPTION
        table = Table(title=f"{result.name} ({len(result.photos)} photos)", title_justify="left", box=box.SIMPLE_HEAD,
                      pad_edge=False, caption=caption, caption_justify="left")
        for column in header:
            table.add_column(EVAL_HEADERS.get(column, column), justify="left" if column == "model" else "right", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        if not REPORT.quiet:
            Console(highlight=False).print(table)
        if not result.has_truth:
            REPORT.warn(f"{folder}: no colour truth (black-and-white photos): only colourfulness is measured; see the grids.")
    notes = []  # without matplotlib (the light install) the plot is skipped, in one line saying what to install

    def note(text: str) -> None:
        notes.append(text)
        REPORT.warn(text)

    written = evaluate.write_report(results, out, grid_rows, note=note)
    REPORT.info(f"wrote {len(written)} files to {out}/ (report.md, metrics.json, metrics.csv, grids)")
    REPORT.record(type="report", folder=str(out), files=[str(p) for p in written], **({"notes": notes} if notes else {}))


# short headers so the table fits 80 columns (the report's Markdown keeps the long ones)
EVAL_HEADERS = {"PSNR dB": "PSNR", "colourfulness": "colour", "of truth": "vs truth", "images/s": "img/s"}
EVAL_CAPTION = "PSNR in dB · colour: colourfulness (Hasler & Süsstrunk) · vs truth: as % of the truth's · img/s: images per second"
EVAL_SEMANTIC_CAPTION = (" · top-5: photos whose truth's class is in the classifier's top 5 for the output · KL: class "
                         "distributions, truth -> output · SSIM and AuC: in report.md")


MODEL_NAMES = ["colorful", "gan", "lsgan", "ebgan", "wgan", "wgan-gp"]


@app.command("train")
def train_command(
    data_dir: Path = typer.Argument(..., help="Folder of colour photos (searched recursively).", show_default=False),
    model: str = typer.Option("lsgan", "-m", "--model", help=f"Recipe: {', '.join(MODEL_NAMES)}."),
    objective: Optional[str] = typer.Option(None, "--objective", help="Override the recipe's objective: regression (no discriminator: a NoGAN pretraining stage), gan, lsgan, ebgan, wgan, wgan-gp."),
    arch: Optional[str] = typer.Option(None, "--arch", help="Override the recipe's generator: unet, colorful, or semantic (a pretrained ImageNet encoder from --encoder with a U-Net decoder)."),
    encoder: Optional[Path] = typer.Option(None, "--encoder", help="--arch semantic: a TFLite ImageNet classifier (e.g. MobileNetV2) whose convolution trunk becomes the encoder."),
    train_encoder_from: int = typer.Option(0, "--train-encoder-from", min=0, help="--arch semantic: fine-tune the encoder's layers from this output stride on (2..32; default 0: frozen)."),
    run: Optional[Path] = typer.Option(None, "--run", help="Run folder for checkpoints, samples and logs (default: a new runs/MODEL-YYYYMMDD-HHMM). Training again into it resumes."),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Passes over the data."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Total generator steps (overrides --epochs)."),
    batch_size: int = typer.Option(16, "--batch-size", min=1),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Training/inference resolution (U-Net: a power of two). Default: the recipe's."),
    width: Optional[int] = typer.Option(None, "--width", min=1, help="Generator base width (channels of the first layer)."),
    d_width: Optional[int] = typer.Option(None, "--d-width", min=1, help="Discriminator base width."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: the recipe's)."),
    l1: Optional[float] = typer.Option(None, "--l1", help="Weight of the L1 term on ab (default 100 for GANs)."),
    l2: Optional[float] = typer.Option(None, "--l2", help="Weight of the (mean) L2 term on ab (default 0)."),
    adv: Optional[float] = typer.Option(None, "--adv", help="Weight of the adversarial term (default 1)."),
    rebalance: float = typer.Option(0.0, "--rebalance", min=0.0, max=1.0, help="Weight the L1 term by colour rarity (Zhang et al.'s class rebalancing; 0.5 in the paper), so rare saturated colours are not washed out. Default 0: plain L1."),
    n_critic: Optional[int] = typer.Option(None, "--n-critic", min=1, help="Critic updates per generator update (WGAN: 5)."),
    critic_warmup: Optional[int] = typer.Option(None, "--critic-warmup", min=0, help="WGAN: critic updates per generator update on the first 25 and every 500th (Arjovsky et al.: 100; 0: no warm-up, every update --n-critic)."),
    clip: Optional[float] = typer.Option(None, "--clip", help="WGAN weight clipping range (default 0.01)."),
    gp_weight: Optional[float] = typer.Option(None, "--gp-weight", help="WGAN-GP gradient-penalty weight (default 10)."),
    margin: Optional[float] = typer.Option(None, "--margin", help="EBGAN margin on the per-sample RMS energy (default 0.3)."),
    pull_away: Optional[float] = typer.Option(None, "--pull-away", help="EBGAN pull-away term weight (0.1 in Zhao et al.; default off)."),
    label_smoothing: Optional[float] = typer.Option(None, "--label-smoothing", help="One-sided: real target 1 - this (GAN/LSGAN)."),
    image_pool: Optional[int] = typer.Option(None, "--image-pool", min=1, help="Experience replay: the discriminator sees past fakes from a pool of N (half the time once full; pix2pix uses 50)."),
    label_flip: Optional[float] = typer.Option(None, "--label-flip", min=0.0, max=0.49, help="Noisy labels (GAN/LSGAN): swap each real/fake target with this probability (e.g. 0.05)."),
    minibatch_disc: bool = typer.Option(False, "--minibatch-disc", help="Minibatch discrimination: a minibatch standard-deviation channel in the PatchGAN (GAN/LSGAN/WGAN)."),
    val: Optional[Path] = typer.Option(None, "--val", help="Validation folder (default: 2% of DATA_DIR held out)."),
    balance: bool = typer.Option(False, "--balance", help="Draw each top-level subfolder of DATA_DIR equally often (for data gathered from lopsided sources)."),
    init: Optional[str] = typer.Option(None, "--init", help="Fine-tune: start the generator from this model (name or .keras path; same --width and --image-size)."),
    seed: int = typer.Option(0, "--seed"),
    strategy: str = typer.Option("auto", "--strategy", help="auto, mirrored (all local GPUs), multi-worker (TF_CONFIG), none."),
    mixed_precision: bool = typer.Option(False, "--mixed-precision", help="bfloat16 compute on GPUs/CPUs that support it."),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every", min=1, help="Checkpoint every N steps (and at every epoch end)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the exported model (default: the run folder's name). The name of a bundled model, or of a model another run made, is refused unless --force."),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", envvar="COLORIZE_MODELS_DIR", help="Where the model is exported."),
    force: bool = typer.Option(False, "--force", help="Export even if the name shadows a bundled model or overwrites another run's model."),
    verbose: bool = VerboseOption,
):
    """Train a colorizer on a folder of colour photos and export it for `colorize -m NAME`.

    \b
      colorize train photos/ --steps 2000    -> runs/lsgan-YYYYMMDD-HHMM, model lsgan-YYYYMMDD-HHMM
      colorize train photos/ -m wgan --name family --run runs/family

    The exported model never replaces a bundled one or another run's model (--force does); training again
    with the same --run resumes and re-exports it."""
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries(verbose)
    if model not in MODEL_NAMES:
        close = difflib.get_close_matches(model, MODEL_NAMES, n=1)
        fail(f"unknown recipe {model!r}{f' (did you mean {close[0]!r}?)' if close else ''}; choose one of {', '.join(MODEL_NAMES)}", 2)
    if not data_dir.is_dir():
        fail(f"{data_dir}: not a folder; give a folder of colour photos", 2)
    options = {"critic_steps": n_critic, "warmup_critic_steps": critic_warmup, "clip": clip, "gp_weight": gp_weight, "margin": margin,
               "pull_away": pull_away, "label_smoothing": label_smoothing, "image_pool": image_pool, "label_flip": label_flip,
               "minibatch_disc": minibatch_disc or None}
    check_objective_options(model, objective, options)
    from colorize_cli import registry

    run = run or new_run_folder(model)
    try:  # before TensorFlow loads and the photos are read: a clash is refused in a second
        registry.check_export(name or run.name, models_dir or registry.user_models_dir(), run, overwrite=force)
    except ColorizeError as exc:
        fail(str(exc), 2)
    from colorize_cli import train

    cfg = train.TrainConfig(model=model, objective=objective, arch=arch, encoder=str(encoder) if encoder else None,
                            train_encoder_from=train_encoder_from, data_dir=str(data_dir), run_dir=str(run), epochs=epochs,
                            steps=steps, batch_size=batch_size, image_size=image_size, width=width, d_width=d_width,
                            lr=lr, adv=adv, l1=l1, l2=l2, rebalance=rebalance, val_dir=str(val) if val else None, balance=balance, init_from=init, seed=seed, export_name=name,
                            strategy=strategy, mixed_precision=mixed_precision, checkpoint_every=checkpoint_every,
                            objective_options={k: v for k, v in options.items() if v is not None})
    try:
        from colorize_cli.progress import rich_progress

        card_path = train.train(cfg, models_dir=models_dir, log=lambda m: console.print(m, soft_wrap=True),
                                progress=rich_progress(console), overwrite=force, scan_progress=scan_bar)
    except ColorizeError as exc:
        fail(str(exc))
    except ValueError as exc:  # e.g. an image size the architecture cannot take
        fail(str(exc), 2)
    console.print(f"[bold]exported[/bold] {card_path.with_suffix('.keras')} — use it with `colorize -m {card_path.stem} PHOTO`")


OPTION_OBJECTIVES = {  # objectives each objective-specific training option changes anything for
    "critic_steps": ("--n-critic", {"gan", "lsgan", "ebgan", "wgan", "wgan-gp"}),
    "warmup_critic_steps": ("--critic-warmup", {"wgan", "wgan-gp"}),
    "clip": ("--clip", {"gan", "lsgan", "ebgan", "wgan", "wgan-gp"}),
    "gp_weight": ("--gp-weight", {"gan", "lsgan", "ebgan", "wgan", "wgan-gp"}),
    "margin": ("--margin", {"ebgan"}),
    "pull_away": ("--pull-away", {"ebgan"}),
    "label_smoothing": ("--label-smoothing", {"gan", "lsgan"}),
    "image_pool": ("--image-pool", {"gan", "lsgan", "ebgan", "wgan", "wgan-gp"}),
    "label_flip": ("--label-flip", {"gan", "lsgan"}),
    "minibatch_disc": ("--minibatch-disc", {"gan", "lsgan", "wgan", "wgan-gp"}),
}


def check_objective_options(model: str, objective: str | None, options: dict) -> None:
    """An option given for another objective (e.g. --pull-away with lsgan) is a one-line usage error."""
    from colorize_cli import registry

    chosen = objective or registry.BUILTIN[model].objective
    for key, value in options.items():
        flag, objectives = OPTION_OBJECTIVES[key]
        if value is not None and chosen not in objectives:
            users = ", ".join(sorted(objectives)) if len(objectives) < 5 else "the adversarial objectives (not regression)"
            fail(f"{flag} applies to {users}, not to {chosen!r} (-m {model}{f' --objective {objective}' if objective else ''}); "
                 f"leave it out or choose a recipe it applies to", 2)


def new_run_folder(model: str) -> Path:
    """runs/MODEL-YYYYMMDD-HHMM, unused: a default run never resumes, and never overwrites, another."""
    base = Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M')}"
    run, n = base, 2
    while run.exists():
        run, n = base.with_name(f"{base.name}-{n}"), n + 1
    return run


def scan_bar(total: int):
    """train's progress while it checks (decodes) every photo: a transient bar, then its one-line result."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("[bold]checking photos"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=console, transient=True)
    task = progress.add_task("scan", total=total)
    progress.start()
    done = [0]

    def advance():
        done[0] += 1
        progress.update(task, advance=1)
        if done[0] >= total:
            progress.stop()

    return advance


@app.command("export")
def export_command(
    source: str = typer.Argument(..., metavar="RUN_OR_MODEL", help="A run folder of `colorize train`; with --format tflite also a model name or .keras file.", show_default=False),
    name: Optional[str] = typer.Option(None, "--name", help="Model name of an exported run (default: the run folder's name)."),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", envvar="COLORIZE_MODELS_DIR", help="Where a run's model is written."),
    fmt: str = typer.Option("keras", "--format", help="keras: a run's checkpoint as NAME.keras; tflite: also (or for an existing model, only) NAME.tflite beside it, which `colorize` then runs on LiteRT without TensorFlow."),
    int8: bool = typer.Option(False, "--int8", help="tflite: full-integer int8 (about 4x smaller, several times faster on CPUs), calibrated on --calibrate; kept only if it passes --check."),
    calibrate: Optional[Path] = typer.Option(None, "--calibrate", help="--int8: a folder of photos like the ones you will colorize (e.g. the training folder); a random 200 are used."),
    float16: bool = typer.Option(False, "--float16", help="tflite: store the float weights in 16 bits (half the file, computed in float32); with --int8, the fallback."),
    check: Optional[List[Path]] = typer.Option(None, "--check", help="tflite: a folder of colour photos to compare the .tflite with the .keras on (repeatable); with --int8, float32 is written instead unless int8 keeps PSNR within 0.1 dB and colourfulness within 1 point on every one."),
    force: bool = typer.Option(False, "--force", help="Export a run even if its name shadows a bundled model or overwrites another run's model."),
    verbose: bool = VerboseOption,
):
    """Export a run's latest checkpoint as a model usable with `colorize -m NAME`, or a model as .tflite for LiteRT.

    \b
      colorize export runs/mine --name mine                       -> mine.keras + card
      colorize export mine --format tflite                        -> mine.tflite (float32)
      colorize export mine --format tflite --int8 --calibrate photos/ --check kodak24/ --check bsds500_test/
    """
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries(verbose)
    if fmt not in ("keras", "tflite"):
        fail(f"--format {fmt!r}: choose keras or tflite", 2)
    if fmt == "keras" and (int8 or float16 or calibrate or check):
        fail("--int8, --float16, --calibrate and --check apply to --format tflite", 2)
    model = source
    if (Path(source) / "config.json").is_file() or fmt == "keras":
        from colorize_cli import train

        try:
            card_path = train.export_run(Path(source), name, models_dir, overwrite=force)
        except ColorizeError as exc:
            hint = "; to convert a model to TFLite add --format tflite" if not Path(source).is_dir() else ""
            fail(f"{exc}{hint}")
        console.print(f"[bold]exported[/bold] {card_path.with_suffix('.keras')} — use it with `colorize -m {card_path.stem} PHOTO`")
        model = str(card_path.with_suffix(".keras")) if fmt == "tflite" else None
    if model is None:
        return
    from colorize_cli import tflite_export

    try:
        card = tflite_export.export_tflite(model, int8=int8, calibrate=calibrate, check_folders=list(check or []), float16=float16,
                                           log=lambda m: console.print(m, soft_wrap=True))
    except ColorizeError as exc:
        fail(str(exc))
    use = card.tflite_path if model.endswith(".keras") or Path(model).is_file() else card.name
    console.print(f"[bold]exported[/bold] {card.tflite_path} ({card.tflite['precision']}) — `colorize -m {use} PHOTO` "
                  f"runs it on LiteRT", soft_wrap=True)


def app_commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)


def main():
    from colorize_cli.errors import MissingDependencyError

    try:
        app()
    except MissingDependencyError as exc:  # e.g. `train` on the light install: say what to install, in one line
        from rich.markup import escape

        console.print(f"[red]Error:[/red] {escape(str(exc))}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
