"""The `colorize` command line. Argument parsing, rich output and exit codes only: the work is done
in `pipeline`, `media`, `registry` and `train`, imported inside the commands so that
`colorize --help` starts instantly (no TensorFlow)."""

from __future__ import annotations

import difflib
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import List, Literal, Optional

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from colorize_cli.errors import ColorizeError, UsageError

# markup off: every message is printed as written ("pip install 'colorize-cli[train]'", a file named
# "[bold].jpg"); styles come only from `say`'s (text, style) parts
console = Console(stderr=True, highlight=False, markup=False)
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


class PanelledCommand(TyperCommand):
    """Plain help (80 columns, examples as written) with the options grouped under their
    `rich_help_panel` headings (Input and output, Model, ...), in the order the options are declared."""

    def format_options(self, ctx, formatter):
        sections: dict[str, list] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                kind = "Arguments" if param.param_type_name == "argument" else getattr(param, "rich_help_panel", None) or "Options"
                sections.setdefault(kind, []).append(record)
        first = ["Arguments", "Input and output", "Model", "Video and streams", "Hints", "Engines"]
        last = ["Messages", "Options"]  # -h at the end; the rest in the order the options are declared
        order = sorted(sections, key=lambda h: (first.index(h) if h in first else len(first) + 1 + last.index(h) if h in last
                                                else len(first)))
        for heading in order:
            records = sections[heading]
            with formatter.section(heading):
                formatter.write_dl(records)


class DefaultContext(TyperCommand.context_class):  # typer's own click
    """The default command is typed as `colorize PATH…`: its usage line and its errors' "Try 'colorize -h'"
    name it so, not `colorize colorize`."""

    @property
    def command_path(self) -> str:
        return self.parent.command_path if self.parent is not None else super().command_path


class DefaultCommand(PanelledCommand):
    context_class = DefaultContext


def _value_placeholder(param, ctx):
    """Help shows what to type (NAME, PATH, N), not Python types (<str>, <list[str]>, <bool>): flags
    show nothing, options their metavar or one derived from their type."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    if param.metavar:
        return param.metavar
    described = getattr(param, "type_descriptor", None)
    if described is not None and described.is_choice:  # the choices themselves, e.g. [auto|litert|tf]
        return "[" + "|".join(map(str, described.choices or ())) + "]"
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

Outputs keep the input's EXIF, IPTC, XMP, ICC profile and resolution, and record what made them (exiftool:
Software).""",
)


def say(*parts, out: Console | None = None) -> None:
    """Print one line literally: `parts` are plain strings or (string, style) pairs, never markup."""
    (out or console).print(Text.assemble(*parts), soft_wrap=True)


def fail(message: str, code: int = 1):
    say(("Error: ", "red"), message)
    REPORT.record(type="error", error=message, exit_code=code)
    raise typer.Exit(code)


def fail_on(exc: ColorizeError, code: int = 1):
    """Stop on a library error: exit 2 when the command line asked for something that is not there."""
    fail(str(exc), 2 if isinstance(exc, UsageError) else code)


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

    def info(self, *parts):
        """A line for people (see `say`); none with -q or --json."""
        if not self.quiet:
            say(*parts)

    def warn(self, text: str):
        if not self.quiet:
            say(("note: ", "yellow"), text)

    def detail(self, text: str):
        """Only with --verbose (e.g. the name of each file that is not colorized)."""
        if self.verbose and not self.quiet:
            say(text)

    def failed(self, job, message: str, out=None):
        say(("failed: ", "red"), message, out=out)
        self.record(type="image", input=str(job.source), output=str(job.target), status="failed", error=message)

    def record(self, **fields):
        if self.json:
            import json

            print(json.dumps(fields, ensure_ascii=False), flush=True)


REPORT = Report()
ForceOption = typer.Option(False, "--force", hidden=True, help="The old spelling of --overwrite (train, export).")
VerboseOption = typer.Option(False, "-v", "--verbose", rich_help_panel="Messages", help="Show the libraries' own log lines (TensorFlow, OpenCV, FFmpeg) and name every file left out.")


def version_callback(value: bool):
    if value:
        from colorize_cli import __version__

        typer.echo(f"colorize {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, help="Show the version and exit.")):
    """Colorize black-and-white photos and folders with GAN or CNN colorizers trained by this tool."""
    REPORT.configure()  # each command sets its own output mode


# choices listed in help and checked by click (exit 2); tests/test_cli.py checks they match the library's
Backend = Literal["auto", "litert", "tf"]  # pipeline.BACKENDS
Engine = Literal["local", "ray"]
ModelOption = typer.Option("lsgan", "-m", "--model", envvar="COLORIZE_MODEL", metavar="NAME", rich_help_panel="Model",
                           help="Model name (see `colorize models`) or path to a .keras or .tflite file.")
BackendOption = typer.Option("auto", "--backend", envvar="COLORIZE_BACKEND", rich_help_panel="Model", help="auto: the model's bundled .tflite on LiteRT when it has one (TensorFlow where it sees a GPU); litert; tf: the .keras through TensorFlow.")


@app.command(DEFAULT_COMMAND, cls=DefaultCommand)
def colorize_command(
    paths: Optional[List[str]] = typer.Argument(None, metavar="PATH", help="Images, folders (searched recursively), videos, stream URLs "
                                                         "(rtsp://, http://…), or - for raw frames on stdin.", show_default=False),
    model: str = ModelOption,
    output: Optional[str] = typer.Option(None, "-o", "--output", metavar="PATH", help="Output file (one input) or folder; - for stdout (one photo: the image file, --format or PNG; a video: raw bgr24). Default: beside each file as NAME_color.EXT; a folder goes to FOLDER_color/; a video to NAME_color.mp4.", rich_help_panel="Input and output"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo outputs that already exist (default: skip them, so a rerun resumes).", rich_help_panel="Input and output"),
    suffix: str = typer.Option("_color", "--suffix", help="Added to names written beside their input, and to a folder's default output folder.", rich_help_panel="Input and output"),
    fmt: Optional[str] = typer.Option(None, "--format", metavar="FMT", help="Output format for every image: jpg, png, tif, webp, bmp. Default: the input's.", rich_help_panel="Input and output"),
    quality: Optional[int] = typer.Option(None, "--quality", min=1, max=100, metavar="N", rich_help_panel="Input and output",
                                          help="JPEG and WebP outputs: encoder quality 1-100. Default: the input's (a JPEG's own quality; a lossless WebP stays lossless), else 95."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, max=256, help="Images or frames per model call.", rich_help_panel="Model"),
    camera: Optional[int] = typer.Option(None, "--camera", help="Colorize a live camera (index, e.g. 0).", rich_help_panel="Video and streams"),
    raw: Optional[str] = typer.Option(None, "--raw", metavar="WxH", help="With '-': stdin carries raw gray8 frames of WIDTHxHEIGHT, e.g. 640x360.", rich_help_panel="Video and streams"),
    fps: float = typer.Option(25.0, "--fps", min=0.1, help="Frame rate of --raw input or of a camera's recording.", rich_help_panel="Video and streams"),
    show: bool = typer.Option(False, "--show", help="Preview window (key o: original beside it; q: stop).", rich_help_panel="Video and streams"),
    smooth: bool = typer.Option(True, "--smooth/--no-smooth", help="Video: blend colours over time (reset at scene cuts) to stop flicker.", rich_help_panel="Video and streams"),
    start: float = typer.Option(0.0, "--start", min=0.0, help="Video: start at this second.", rich_help_panel="Video and streams"),
    duration: Optional[float] = typer.Option(None, "--duration", min=0.0, help="Video: process this many seconds.", rich_help_panel="Video and streams"),
    reconnect: int = typer.Option(0, "--reconnect", min=0, help="Streams: reopen a dropped stream up to N times, then end cleanly.", rich_help_panel="Video and streams"),
    codec: Optional[str] = typer.Option(None, "--codec", metavar="NAME", help="Video: h264, hevc, av1, vp9, ffv1 (lossless) or prores (422 HQ). Default by the output's extension: .mp4 .mkv .avi .ts H.264, .mov ProRes, .webm VP9; without -o, ffv1 writes .mkv and prores .mov. 10-bit where the codec can and the source has more than 8 bits.", rich_help_panel="Video and streams"),
    crf: Optional[int] = typer.Option(None, "--crf", metavar="N", help="Video: the encoder's constant quality, lower is better: h264 and hevc 0-51 (default 18 and 20), vp9 and av1 0-63 (24 and 28).", rich_help_panel="Video and streams"),
    max_pixels: int = typer.Option(250_000_000, "--max-pixels", min=1, help="Refuse images larger than this (checked before decoding).", rich_help_panel="Input and output"),
    saturation: Optional[float] = typer.Option(None, "--saturation", min=0.0, max=4.0, help="Scale the predicted colour: 0 gray, 1 as predicted, >1 more vivid. Default: the model's calibrated value (`colorize models`).", rich_help_panel="Model"),
    backend: Backend = BackendOption,
    engine: Engine = typer.Option("local", "--engine", help="Who runs a folder job: local (this process) or ray (Ray Data actors on a Ray cluster; pip install 'colorize-cli[ray]').", rich_help_panel="Engines"),
    address: Optional[str] = typer.Option(None, "--address", metavar="ADDR", help="--engine ray: the cluster to run on (host:port of `ray start --head`, or auto); default: a local Ray instance for this run.", rich_help_panel="Engines"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, metavar="N", help="--engine ray: colorizing actors, one loaded model each (default: one per 2 CPUs, or per GPU).", rich_help_panel="Engines"),
    hints_file: Optional[Path] = typer.Option(None, "--hints", metavar="FILE", help="Colours you know, for one photo or video: an RGBA image of its aspect ratio whose opaque pixels are hints of their colour, or a copy of it with colour painted on. Spread over the automatic colour along the photo's edges; on a video, until the first scene cut.", rich_help_panel="Hints"),
    hint: Optional[List[str]] = typer.Option(None, "--hint", metavar="X,Y,COLOR", help="A colour you know at pixel X,Y of the input (from the top-left), as #RRGGBB or a CSS name: --hint 120,80,#b22222. Repeatable; combines with --hints.", rich_help_panel="Hints"),
    hint_size: int = typer.Option(5, "--hint-size", min=1, metavar="N", help="Side in pixels of the square patch each --hint colours.", rich_help_panel="Hints"),
    hint_reach: float = typer.Option(1.0, "--hint-reach", metavar="X", help="How far hints spread, in picture sizes, each edge crossed counting extra: 1 (default) the hint's own region; 0.25 only near it; 4 or more: across most of the photo (a global shift); inf: pure Levin, every region it connects to.", rich_help_panel="Hints"),
    reference: Optional[List[Path]] = typer.Option(None, "--reference", metavar="FILE", help="A colour photo to take colours from (same scene, a coloured keyframe, the same uniform), or a folder of them: matched to each input by lightness and applied where it matches; --hint wins. Repeatable; on a video, each shot takes the one most like it (none if it is like none of them).", rich_help_panel="Hints"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only errors, one line each; the exit code tells the rest.", rich_help_panel="Messages"),
    json_lines: bool = typer.Option(False, "--json", help="Print one JSON object per line on stdout: one per input, then a summary; human lines are left out.", rich_help_panel="Messages"),
    verbose: bool = VerboseOption,
):
    """Colorize images, folders, videos and streams (the default command: `colorize PATH...`).

    \b
      colorize photo.jpg                     -> photo_color.jpg beside it
      colorize scans/ -o out/                -> out/ mirrors scans/ (recursively)
      colorize -m colorful scan.tif -o x.png -> another model, an explicit output
      colorize film.mp4 --start 60 --duration 30

    A rerun skips outputs made with the same model and settings and stops, doing nothing, if some were
    made otherwise: --overwrite redoes them, another -o keeps both. Outputs keep the input's EXIF, IPTC,
    XMP, ICC profile and resolution and record what made them. Exit code: 0 all done, 1 some failed, 2 usage error or
    outputs in the way."""
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries(verbose)
    REPORT.configure(quiet=quiet, json_lines=json_lines, verbose=verbose)
    from colorize_cli import video

    paths = list(paths or [])
    if camera is None and not paths:
        fail("nothing to colorize: give image files, folders, videos, a stream URL, - (with --raw) or --camera N", 2)
    if camera is not None and paths:
        fail(f"--camera {camera} and {paths[0]}: colorize a camera or files, not both in one command; leave out one of them", 2)
    streams = [p for p in paths if p == "-" or p.startswith(video.STREAM_PREFIXES)]
    from colorize_cli.storage import is_uri

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
        fail("--json and -o - both write to stdout; give -o a file or leave out --json", 2)

    from colorize_cli import jobs

    model = jobs.Model(model, saturation, backend)
    try:
        engine = jobs.Engine(engine, address, workers) if engine != "local" or address or workers else None
    except ColorizeError as exc:
        fail_on(exc)
    if engine is not None and videos:
        fail("--engine ray runs image files and folders; colorize videos without it", 2)
    if output == "-" and images and (videos or len(images) > 1 or images[0].is_dir()):
        fail(f"-o - writes one photo (or one video) to stdout; {images[0] if images[0].is_dir() else 'several inputs'} "
             f"cannot go there: give an output folder", 2)
    if quality is not None:  # recorded, so that a rerun with another --quality is not taken as done
        model.provenance_extra["quality"] = quality
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
    clips = videos + (["camera"] if camera is not None else [])
    try:
        jobs.check_videos(clips, output, suffix, show, codec, crf)  # before any work: a bad pair stops the command
    except ColorizeError as exc:
        fail(str(exc), 2)
    summary = jobs.Summary()
    try:
        if output == "-" and images:
            if sys.stdout.isatty():
                fail(f"-o -: stdout is a terminal; send the image somewhere: colorize {images[0]} -o - > photo.png", 2)
            payload = jobs.photo_bytes(str(images[0]), model, fmt, batch_size, quality, max_pixels)
            sys.stdout.buffer.write(payload)
            sys.stdout.buffer.flush()
            summary.done = 1
        elif images or stored:
            summary.add(jobs.run_photos([*stored, *map(str, images)], output, model, suffix=suffix, fmt=fmt,
                                        overwrite=overwrite, batch_size=batch_size, max_pixels=max_pixels, quality=quality, engine=engine,
                                        events=PrintedEvents()))
    except jobs.Interrupted as exc:
        say(("stopped: ", "yellow"), str(exc))
        REPORT.record(type="summary", **vars(exc.summary), **model.settings(), interrupted=True, exit_code=130)
        raise typer.Exit(130)
    except jobs.OutputsInTheWay as exc:
        for made_by, found in exc.found.other.items():
            for job in found:
                REPORT.record(type="image", input=str(job.source), output=str(job.target), status="conflict", made_by=made_by)
                REPORT.detail(f"made otherwise: {job.target} — {made_by}")
        fail_on(exc)
    except ColorizeError as exc:
        fail_on(exc)
    interrupted = False
    try:
        for outcome in jobs.run_videos(clips, model, output, camera=camera, overwrite=overwrite, suffix=suffix,
                                       batch_size=batch_size, raw_size=raw_size, fps=fps, show=show, smooth=smooth,
                                       start=start, duration=duration, reconnect=reconnect, codec=codec, crf=crf,
                                       events=PrintedVideoEvents()):
            print_video(outcome)
            summary.count(outcome)
            interrupted = outcome.status == "interrupted"  # Ctrl-C: run_videos stops after this one
    except jobs.VideoInTheWay as exc:
        REPORT.record(**exc.record)
        fail(str(exc), 2)
    except ColorizeError as exc:
        fail_on(exc)
    code = 130 if interrupted else summary.exit_code
    REPORT.record(type="summary", **vars(summary), **model.settings(), **({"interrupted": True} if interrupted else {}),
                  exit_code=code)
    if code:
        raise typer.Exit(code)


class PrintedEvents:
    """What a photo job says (see `jobs.Events`), as lines on stderr and --json records on stdout."""

    def not_images(self, others):
        from colorize_cli.jobs import not_images_line

        for path in others:
            REPORT.record(type="image", input=str(path), status="not_image")
            REPORT.detail(f"not an image, not colorized: {path}")
        REPORT.warn(not_images_line(others, REPORT.verbose))

    def existing(self, job, status):
        REPORT.record(type="image", input=str(job.source), output=str(job.target), status=status)

    def note(self, *parts):
        REPORT.info(*parts)

    @contextmanager
    def progress(self, name, total):
        from colorize_cli.progress import Bar

        hidden = REPORT.quiet or (not console.is_terminal and total < 2)
        with Bar(console, name, total, unit="img/s", disable=hidden) as bar:
            self.out = bar.console
            try:
                yield bar.advance
            finally:
                self.out = None

    out = None  # the progress bar's console while it runs: lines printed above the bar

    def done(self, job):
        REPORT.record(type="image", input=str(job.source), output=str(job.target), status="done")

    def failed(self, job, message):
        REPORT.failed(job, message, self.out)

    def stopped(self, left):
        for job in left:
            REPORT.record(type="image", input=str(job.source), output=str(job.target), status="failed", error="not attempted")
        say(("stopped: ", "red"), f"{len(left)} photos not done", out=self.out)


def print_video(outcome) -> None:
    """A video's line (errors and Ctrl-C even with -q) and its --json record (see `jobs.VideoOutcome`)."""
    if outcome.status == "skipped":
        REPORT.record(**outcome.record())
    (say if outcome.status in ("failed", "interrupted") else REPORT.info)(*outcome.line())
    if outcome.status != "skipped":
        REPORT.record(**outcome.record())


class PrintedVideoEvents:
    """What a video job says while it runs (see `jobs.VideoEvents`): notes, a progress bar on stderr and,
    with --json, a progress record about once a second."""

    def note(self, spec, text):
        REPORT.warn(f"{spec}: {text}")

    @contextmanager
    def progress(self, spec, total, target):
        from colorize_cli.progress import Bar

        label = Path(spec).name if spec not in ("-", "camera") else spec
        reported = [-1.0]  # when the last --json progress event went out: the first goes with the first frame
        started = time.perf_counter()
        with Bar(console, label, total, unit="frames/s", disable=REPORT.quiet or (target == "-" and not console.is_terminal)) as bar:
            def on_frame(count):
                bar.update(count)
                elapsed = time.perf_counter() - started
                if REPORT.json and (elapsed - reported[0] >= 1.0 or count == total):
                    reported[0] = elapsed
                    rate = count / max(elapsed, 1e-9)
                    left = round((total - count) / rate, 1) if total and rate else None
                    REPORT.record(type="progress", input=spec, frames=count, total=total, fps=round(rate, 2), eta_s=left)

            yield on_frame


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
        assert width > 0 and height > 0
        return width, height
    except (ValueError, AssertionError):
        fail(f"--raw {text!r}: expected WIDTHxHEIGHT, e.g. 640x360", 2)


@app.command("models", cls=PanelledCommand)
def models_command(json_lines: bool = typer.Option(False, "--json", rich_help_panel="Messages",
                                                   help="Print one JSON object per model on stdout (name, origin, network, "
                                                        "objective, saturation, file, backend, metrics, data terms) instead of the tables.")):
    """List the models: where each name comes from, what it loads, its quality and its data terms."""
    from rich import box
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from colorize_cli import registry

    try:
        listings = registry.listings()
    except ColorizeError as exc:
        fail_on(exc)
    if json_lines:
        import json

        for listing in listings:
            card = listing.card
            runs_on = backend_label(card)
            path = card.tflite_path if runs_on.startswith("LiteRT") else card.weights_path
            present = listing.origin != "recipe" and path is not None and path.is_file()
            print(json.dumps({"name": listing.name, "origin": listing.origin, "default": listing.name == registry.DEFAULT_MODEL,
                              "arch": card.arch, "width": card.width, "input_size": card.input_size, "objective": card.objective,
                              "saturation": card.saturation, "file": str(path) if present else None,
                              "backend": runs_on if present else None, "metrics": card.metrics,
                              "terms": data_terms(card) if card.runnable else None,
                              "hides": [str(p) for p in listing.hides]}, ensure_ascii=False))
        return
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
    out = Console(highlight=False, markup=False)
    out.print(table)
    out.print(Text.assemble(("Where each name comes from", "bold"), " (user: your models folder, searched first; bundled: shipped; "
              "recipe: train it to use it) and the file `colorize -m NAME` loads:"))
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
        say(f"  {listing.name} ({listing.origin}): {where}{hidden}", out=out)
    out.print(Text.assemble(("Licences", "bold"), ": the code is MIT. Trained weights carry the terms of the photos they were trained on:"))
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


@app.command("studio", cls=PanelledCommand)
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
        from colorize_cli import jobs

        return jobs.Model(name, saturation, provenance_extra=extra).provenance()

    def log(line: str) -> None:
        say((time.strftime('%H:%M:%S'), "dim"), f" {line}")

    def ready(url: str) -> None:
        say(("colorize studio", "bold"), f" serving {path} at {url} — Ctrl-C stops it")

    try:
        studio.serve(studio.Studio(path, provenance, log), port, open_browser=not no_browser, on_ready=ready)
    except ColorizeError as exc:
        fail(str(exc), 2)
    say("stopped")


@app.command("eval", cls=PanelledCommand)
def eval_command(
    folders: List[Path] = typer.Argument(..., metavar="FOLDER", help="Folders of colour photos (made gray, colorized, compared with the originals); "
                                                   "black-and-white folders are colorized and shown without scores.", show_default=False),
    models: List[str] = typer.Option(["lsgan"], "-m", "--model", metavar="NAME", help="Model name or .keras path; repeat for several; 'all' = every model with weights.", rich_help_panel="Models"),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for metrics.json/.csv, report.md and the comparison grids.", rich_help_panel="Report"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the report already in --out (default: refuse, so an earlier report is never lost).", rich_help_panel="Report"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate a random subset of N photos per folder (see --seed).", rich_help_panel="Photos"),
    seed: int = typer.Option(0, "--seed", help="Seed of the --limit subset.", rich_help_panel="Photos"),
    grid_rows: int = typer.Option(8, "--grid-rows", min=1, help="Photos per comparison grid.", rich_help_panel="Report"),
    classifier: Optional[Path] = typer.Option(None, "--classifier", help="A TFLite ImageNet classifier (e.g. MobileNetV2): also report whether it still recognises each colorized photo (top-5 agreement with its class for the truth, KL divergence).", rich_help_panel="Models"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only errors; the report is still written.", rich_help_panel="Messages"),
    json_lines: bool = typer.Option(False, "--json", help="Print one JSON object per line on stdout: one per photo and model, then one summary per folder and model.", rich_help_panel="Messages"),
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
    from rich.table import Table

    from colorize_cli import evaluate, registry
    from colorize_cli.progress import Bar

    for folder in folders:
        if not folder.is_dir():
            fail(f"{folder}: not a folder; give folders of photos", 2)
    earlier = evaluate.existing_report(out)
    if earlier and not overwrite:
        fail(f"{out}: holds an earlier report ({', '.join(p.name for p in earlier[:3])}{', …' if len(earlier) > 3 else ''}); "
             f"add --overwrite to replace it, or choose another --out", 2)
    try:
        names = [n for n, c in sorted(registry.list_models().items()) if c.runnable] if models == ["all"] else models
        from colorize_cli.pipeline import Colorizer

        colorizers = [Colorizer(name) for name in names]
        if classifier is not None:
            from colorize_cli.recognition import Classifier

            classifier = Classifier(classifier)
    except ColorizeError as exc:
        fail_on(exc)
    results = []
    for folder in folders:
        with Bar(console, folder.name, 0, transient=True, disable=REPORT.quiet) as bar:

            def step(advance=1, more=0):  # photos read, colorized and scored: one bar with an ETA
                if more:
                    bar.more(more)
                bar.advance(advance)

            try:
                result = evaluate.evaluate_dataset(folder, colorizers, limit, seed, classifier=classifier, step=step)
            except ColorizeError as exc:
                fail_on(exc)
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
            Console(highlight=False, markup=False).print(table)
        if not result.has_truth:
            REPORT.warn(f"{folder}: no colour truth (black-and-white photos): only colourfulness is measured; see the grids.")
    notes = []  # without matplotlib (the light install) the plot is skipped, in one line saying what to install

    def note(text: str) -> None:
        notes.append(text)
        REPORT.warn(text)

    try:
        written = evaluate.write_report(results, out, grid_rows, note=note, models=evaluate.model_records(colorizers))
    except ColorizeError as exc:
        fail_on(exc)
    replaced = " (replacing the earlier report)" if earlier else ""
    REPORT.info(f"wrote {len(written)} files to {out}/{replaced} (report.md, metrics.json, metrics.csv, grids)")
    REPORT.record(type="report", folder=str(out), files=[str(p) for p in written], **({"notes": notes} if notes else {}))


# short headers so the table fits 80 columns (the report's Markdown keeps the long ones)
EVAL_HEADERS = {"PSNR dB": "PSNR", "colourfulness": "colour", "of truth": "vs truth", "images/s": "img/s"}
EVAL_CAPTION = "PSNR in dB · colour: colourfulness (Hasler & Süsstrunk) · vs truth: as % of the truth's · img/s: images per second"
EVAL_SEMANTIC_CAPTION = (" · top-5: photos whose truth's class is in the classifier's top 5 for the output · KL: class "
                         "distributions, truth -> output · SSIM and AuC: in report.md")


# registry.BUILTIN: the recipes (never named like a model; their old names, the bundled models', still work)
RECIPE_NAMES = ["semantic-lsgan", "colorful-l1", "pix2pix-gan", "pix2pix-lsgan", "pix2pix-ebgan", "pix2pix-wgan", "pix2pix-wgan-gp"]
OLD_RECIPE_NAMES = {"colorful": "colorful-l1", "gan": "pix2pix-gan", "lsgan": "pix2pix-lsgan", "ebgan": "pix2pix-ebgan",
                    "wgan": "pix2pix-wgan", "wgan-gp": "pix2pix-wgan-gp"}  # registry.OLD_RECIPE_NAMES
# the choices help lists and click checks (exit 2); tests/test_cli.py checks that they are the library's
Objective = Literal["regression", "gan", "lsgan", "ebgan", "wgan", "wgan-gp"]  # gan.OBJECTIVES
Arch = Literal["unet", "colorful", "semantic"]  # networks.GENERATORS
Strategy = Literal["auto", "mirrored", "multi-worker", "none"]  # train.make_strategy
ExportFormat = Literal["keras", "tflite"]


@app.command("train", cls=PanelledCommand)
def train_command(
    ctx: typer.Context,
    data_dir: Path = typer.Argument(..., help="Folder of colour photos (searched recursively).", show_default=False),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE.json", rich_help_panel="Recipe and network",
                                          help="Run a saved training definition (a TrainConfig as JSON, e.g. a run's config.json); options given here override it. DATA_DIR, --run and --name are this run's own."),
    recipe: Optional[str] = typer.Option(None, "-r", "--recipe", metavar="[" + "|".join(RECIPE_NAMES) + "]", rich_help_panel="Recipe and network",
                                         help="The recipe: objective, network and settings to start from. Default semantic-lsgan: the bundled lsgan's network (ImageNet encoder from a bundled model, U-Net decoder, 192 px) and first stages (L1 on the frozen encoder, then LSGAN + 100*L1). pix2pix-*: a U-Net from scratch; colorful-l1: Zhang et al.'s CNN."),
    model: Optional[str] = typer.Option(None, "-m", "--model", hidden=True, help="The old spelling of -r/--recipe (-m names a model in the other commands)."),
    objective: Optional[Objective] = typer.Option(None, "--objective", help="Override the recipe's objective: regression (no discriminator: a NoGAN pretraining stage), gan, lsgan, ebgan, wgan, wgan-gp.", rich_help_panel="Recipe and network"),
    arch: Optional[Arch] = typer.Option(None, "--arch", help="Override the recipe's generator: unet, colorful, or semantic (a pretrained ImageNet encoder with a U-Net decoder).", rich_help_panel="Recipe and network"),
    encoder: Optional[Path] = typer.Option(None, "--encoder", help="--arch semantic: a TFLite ImageNet classifier (e.g. MobileNetV2) whose convolution trunk becomes the encoder (default: the ImageNet encoder inside a bundled model).", rich_help_panel="Recipe and network"),
    train_encoder_from: int = typer.Option(0, "--train-encoder-from", min=0, help="--arch semantic: fine-tune the encoder's layers from this output stride on (2..32; default 0: frozen).", rich_help_panel="Recipe and network"),
    run: Optional[Path] = typer.Option(None, "--run", help="Run folder for checkpoints, samples and logs (default: a new runs/MODEL-YYYYMMDD-HHMM). Training again into it resumes.", rich_help_panel="Data and run"),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Passes over the data.", rich_help_panel="Data and run"),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Total generator steps (overrides --epochs).", rich_help_panel="Data and run"),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Photos per training step (split across GPUs by --strategy).", rich_help_panel="Data and run"),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="Training/inference resolution (U-Net: a power of two). Default: the recipe's.", rich_help_panel="Recipe and network"),
    width: Optional[int] = typer.Option(None, "--width", min=1, help="Generator base width (channels of the first layer).", rich_help_panel="Recipe and network"),
    d_width: Optional[int] = typer.Option(None, "--d-width", min=1, help="Discriminator base width.", rich_help_panel="Recipe and network"),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: the recipe's).", rich_help_panel="Losses"),
    l1: Optional[float] = typer.Option(None, "--l1", help="Weight of the L1 term on ab (default 100 for GANs).", rich_help_panel="Losses"),
    l2: Optional[float] = typer.Option(None, "--l2", help="Weight of the (mean) L2 term on ab (default 0).", rich_help_panel="Losses"),
    adv: Optional[float] = typer.Option(None, "--adv", help="Weight of the adversarial term (default 1).", rich_help_panel="Losses"),
    rebalance: float = typer.Option(0.0, "--rebalance", min=0.0, max=1.0, help="Weight the L1 term by colour rarity (Zhang et al.'s class rebalancing; 0.5 in the paper), so rare saturated colours are not washed out. Default 0: plain L1.", rich_help_panel="Losses"),
    n_critic: Optional[int] = typer.Option(None, "--n-critic", min=1, help="Critic updates per generator update (WGAN: 5).", rich_help_panel="Objective options"),
    critic_warmup: Optional[int] = typer.Option(None, "--critic-warmup", min=0, help="WGAN: critic updates per generator update on the first 25 and every 500th (Arjovsky et al.: 100; 0: no warm-up, every update --n-critic).", rich_help_panel="Objective options"),
    critic_pretrain: Optional[int] = typer.Option(None, "--critic-pretrain", min=0, help="NoGAN: train the critic alone on the generator's outputs for the first N steps (the generator stays as it is), then both.", rich_help_panel="Objective options"),
    clip: Optional[float] = typer.Option(None, "--clip", help="WGAN weight clipping range (default 0.01).", rich_help_panel="Objective options"),
    gp_weight: Optional[float] = typer.Option(None, "--gp-weight", help="WGAN-GP gradient-penalty weight (default 10).", rich_help_panel="Objective options"),
    margin: Optional[float] = typer.Option(None, "--margin", help="EBGAN margin on the per-sample RMS energy (default 0.3).", rich_help_panel="Objective options"),
    pull_away: Optional[float] = typer.Option(None, "--pull-away", help="EBGAN pull-away term weight (0.1 in Zhao et al.; default off).", rich_help_panel="Objective options"),
    label_smoothing: Optional[float] = typer.Option(None, "--label-smoothing", help="One-sided: real target 1 - this (GAN/LSGAN).", rich_help_panel="Objective options"),
    image_pool: Optional[int] = typer.Option(None, "--image-pool", min=1, help="Experience replay: the discriminator sees past fakes from a pool of N (half the time once full; pix2pix uses 50).", rich_help_panel="Objective options"),
    label_flip: Optional[float] = typer.Option(None, "--label-flip", min=0.0, max=0.49, help="Noisy labels (GAN/LSGAN): swap each real/fake target with this probability (e.g. 0.05).", rich_help_panel="Objective options"),
    minibatch_disc: bool = typer.Option(False, "--minibatch-disc", help="Minibatch discrimination: a minibatch standard-deviation channel in the PatchGAN (GAN/LSGAN/WGAN).", rich_help_panel="Objective options"),
    val: Optional[Path] = typer.Option(None, "--val", help="Validation folder (default: 2% of DATA_DIR held out).", rich_help_panel="Data and run"),
    balance: bool = typer.Option(False, "--balance", help="Draw each top-level subfolder of DATA_DIR equally often (for data gathered from lopsided sources).", rich_help_panel="Data and run"),
    init: Optional[str] = typer.Option(None, "--init", help="Fine-tune: start the generator from this model (name or .keras path); its network (architecture, size, width, encoder) comes from its card and file, and the recipe's last stage trains it.", rich_help_panel="Recipe and network"),
    base_steps: Optional[int] = typer.Option(None, "--base-steps", min=1, help="Steps of the recipe's first stages (semantic-lsgan: the L1 stage on the frozen encoder, 6000); --steps sets the last stage's.", rich_help_panel="Data and run"),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights' initialisation, the validation split and the data order (a run is reproducible from it).", rich_help_panel="Data and run"),
    strategy: Strategy = typer.Option("auto", "--strategy", help="auto: mirrored when several GPUs are here, else none; mirrored: all local GPUs; multi-worker: the cluster in TF_CONFIG; none: one device.", rich_help_panel="Devices"),
    mixed_precision: bool = typer.Option(False, "--mixed-precision", help="bfloat16 compute, float32 weights and losses: 1.5x faster on CPUs with AVX512-BF16 or AMX and on recent GPUs, slower where bfloat16 is emulated.", rich_help_panel="Devices"),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every", min=1, help="Checkpoint every N steps (and at every epoch end).", rich_help_panel="Data and run"),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the exported model (default: the run folder's name). The name of a bundled model, or of a model another run made, is refused unless --overwrite.", rich_help_panel="Export"),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", envvar="COLORIZE_MODELS_DIR", help="Where the model is exported.", rich_help_panel="Export"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Export even if the name shadows a bundled model or overwrites another run's model.", rich_help_panel="Export"),
    force: bool = ForceOption,
    verbose: bool = VerboseOption,
):
    """Train a colorizer on a folder of colour photos and export it for `colorize -m NAME`.

    \b
      colorize train photos/              -> runs/semantic-lsgan-YYYYMMDD-HHMM, model of that name
      colorize train photos/ --init lsgan --steps 1000   # fine-tune the bundled default
      colorize train photos/ -r pix2pix-wgan --name family --run runs/family

    The exported model never replaces a bundled one or another run's model (--overwrite does); training again
    with the same --run resumes and re-exports it."""
    from colorize_cli.quiet import quiet_libraries

    quiet_libraries(verbose)
    overwrite = overwrite or old_force(force)
    if model is not None:  # the old spelling: kept working, said once
        if recipe is not None and recipe != model:
            fail(f"-r {recipe} and -m {model}: -m is the old spelling of -r/--recipe; give one recipe", 2)
        say(("note: ", "yellow"), "train -m/--model is now -r/--recipe (-m names a model everywhere else); -m still works for now")
    from colorize_cli import registry

    recipe = recipe or model
    if recipe is not None:
        check_recipe(recipe)
    if not data_dir.is_dir():
        fail(f"{data_dir}: not a folder; give a folder of colour photos", 2)
    options = {"critic_steps": n_critic, "warmup_critic_steps": critic_warmup, "critic_pretrain": critic_pretrain, "clip": clip, "gp_weight": gp_weight, "margin": margin,
               "pull_away": pull_away, "label_smoothing": label_smoothing, "image_pool": image_pool, "label_flip": label_flip,
               "minibatch_disc": minibatch_disc or None}
    settings = dict(objective=objective, arch=arch, encoder=str(encoder) if encoder else None,
                    train_encoder_from=train_encoder_from, epochs=epochs, steps=steps, batch_size=batch_size, image_size=image_size,
                    width=width, d_width=d_width, lr=lr, adv=adv, l1=l1, l2=l2, rebalance=rebalance, val_dir=str(val) if val else None,
                    balance=balance, seed=seed, strategy=strategy, mixed_precision=mixed_precision,
                    checkpoint_every=checkpoint_every)
    # only what the command line gave goes over the recipe (or the saved definition): the rest is theirs
    settings = {key: value for key, value in settings.items() if given(ctx, key)}
    settings["objective_options"] = {k: v for k, v in options.items() if v is not None}
    if config is not None:  # the saved definition (one stage), with what was given on this command line over it
        saved = read_saved_config(config)
        recipe = recipe or saved.pop("model", None) or registry.DEFAULT_RECIPE
        check_recipe(recipe, f"--config {config}: ")
        settings = {**saved, **settings, "objective_options": {**saved.get("objective_options", {}), **settings["objective_options"]}}
        init = init or settings.pop("init_from", None)
        if init and not given(ctx, "encoder"):  # a saved run's encoder file: the model it starts from holds those weights
            settings.pop("encoder", None)
    settings.pop("init_from", None)
    recipe = recipe or registry.DEFAULT_RECIPE
    if recipe in OLD_RECIPE_NAMES:
        say(("note: ", "yellow"), f"recipe {recipe!r} is now {OLD_RECIPE_NAMES[recipe]!r} ({recipe} names the bundled model; "
                                  f"the default recipe semantic-lsgan is the bundled lsgan's); {recipe!r} still works for now")
    check_objective_options(recipe, settings.get("objective"), settings["objective_options"])
    run = run or new_run_folder(OLD_RECIPE_NAMES.get(recipe, recipe))
    try:  # before TensorFlow loads and the photos are read: a clash is refused in a second
        registry.check_export(name or run.name, models_dir or registry.user_models_dir(), run, overwrite=overwrite)
    except ColorizeError as exc:
        fail(str(exc), 2)
    from colorize_cli import stages

    try:
        plan = stages.plan(recipe, data_dir, run, name, options=settings, init=init, base_steps=base_steps, with_bases=config is None)
        from colorize_cli.progress import rich_progress

        card_path = stages.train_plan(plan, models_dir=models_dir, log=say, progress=rich_progress(console), overwrite=overwrite,
                                      scan_progress=scan_bar)
    except ColorizeError as exc:
        fail_on(exc)
    except ValueError as exc:  # e.g. an image size the architecture cannot take
        fail(str(exc), 2)
    say(("exported", "bold"), f" {card_path.with_suffix('.keras')} — use it with `colorize -m {model_argument(card_path)} PHOTO`")


def check_recipe(recipe: str, where: str = "") -> None:
    """An unknown recipe is a one-line usage error naming the recipes (old names are known)."""
    if recipe not in RECIPE_NAMES and recipe not in OLD_RECIPE_NAMES:
        close = difflib.get_close_matches(recipe, RECIPE_NAMES + list(OLD_RECIPE_NAMES), n=1)
        fail(f"{where}unknown recipe {recipe!r}{f' (did you mean {close[0]!r}?)' if close else ''}; choose one of "
             f"{', '.join(RECIPE_NAMES)}", 2)


# TrainConfig field -> the train options that set it, where their names differ (for --config)
CONFIG_OPTIONS = {"model": ("recipe", "model"), "val_dir": ("val",), "init_from": ("init",)}
NOT_SAVED = {"data_dir", "run_dir", "export_name"}  # each run's own, never taken from the file


def given(ctx, key: str) -> bool:
    """Was the option(s) setting TrainConfig field `key` given on the command line (or in the environment)?"""
    sources = (ctx.get_parameter_source(option) for option in CONFIG_OPTIONS.get(key, (key,)))
    return any(source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT") for source in sources)


def read_saved_config(path: Path) -> dict:
    """The TrainConfig settings saved in `path` (a run's config.json), less each run's own (NOT_SAVED)."""
    import dataclasses
    import json

    from colorize_cli.train import TrainConfig

    try:
        saved = json.loads(path.read_text())
        assert isinstance(saved, dict)
    except (OSError, ValueError, AssertionError):
        fail(f"--config {path}: not a readable training definition (a JSON object of TrainConfig settings); check the file", 2)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(saved) - known)
    if unknown:
        fail(f"--config {path}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
             f"known: {', '.join(sorted(known - NOT_SAVED))}", 2)
    return {key: value for key, value in saved.items() if key not in NOT_SAVED}


OPTION_FLAGS = {"critic_steps": "--n-critic", "warmup_critic_steps": "--critic-warmup"}  # the rest: --name-like-this


def check_objective_options(model: str, objective: str | None, options: dict) -> None:
    """An option given for an objective it does not apply to (e.g. --pull-away with lsgan) is a one-line usage
    error; which options apply is the objective's own list (gan.Objective.options)."""
    from colorize_cli import gan, registry

    chosen = objective or registry.recipe_card(model).objective
    for key, value in options.items():
        if value is not None and key not in gan.OBJECTIVES[chosen].options:
            users = sorted(name for name, o in gan.OBJECTIVES.items() if key in o.options)
            users = ", ".join(users) if len(users) < 5 else "the adversarial objectives (not regression)"
            flag = OPTION_FLAGS.get(key, "--" + key.replace("_", "-"))
            fail(f"{flag} applies to {users}, not to {chosen!r} (-r {model}{f' --objective {objective}' if objective else ''}); "
                 f"leave it out or choose a recipe it applies to", 2)


def old_force(force: bool) -> bool:
    """--force, the old spelling of --overwrite (as in `colorize` and `eval`): kept working, said once."""
    if force:
        say(("note: ", "yellow"), "--force is now --overwrite (as in colorize and eval); --force still works for now")
    return force


def model_argument(card_path: Path) -> str:
    """What to give -m for an exported model: its name where `colorize` looks (the user's models folder,
    COLORIZE_MODELS_DIR), else the path of its .keras (a --models-dir of its own)."""
    from colorize_cli import registry

    searched = {directory.resolve() for directory in registry.models_dirs()}
    if card_path.parent.resolve() in searched:
        return card_path.stem
    import shlex

    return shlex.quote(short_path(card_path.with_suffix(".keras")))


def new_run_folder(model: str) -> Path:
    """runs/MODEL-YYYYMMDD-HHMM, unused: a default run never resumes, and never overwrites, another."""
    base = Path("runs") / f"{model}-{time.strftime('%Y%m%d-%H%M')}"
    run, n = base, 2
    while run.exists():
        run, n = base.with_name(f"{base.name}-{n}"), n + 1
    return run


def scan_bar(total: int):
    """train's progress while it checks (decodes) every photo: a transient bar, then its one-line result."""
    from colorize_cli.progress import Bar

    bar = Bar(console, "checking photos", total, transient=True)
    bar.start()

    def advance():
        bar.advance()
        if bar.count >= total:
            bar.stop()

    return advance


@app.command("export", cls=PanelledCommand)
def export_command(
    source: str = typer.Argument(..., metavar="RUN_OR_MODEL", help="A run folder of `colorize train`; with --format tflite also a model name or .keras file.", show_default=False),
    name: Optional[str] = typer.Option(None, "--name", help="Model name of an exported run (default: the run folder's name).", rich_help_panel="Export"),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", envvar="COLORIZE_MODELS_DIR", help="Where a run's model is written.", rich_help_panel="Export"),
    fmt: ExportFormat = typer.Option("keras", "--format", help="keras: a run's checkpoint as NAME.keras; tflite: also (or for an existing model, only) NAME.tflite beside it, which `colorize` then runs on LiteRT without TensorFlow.", rich_help_panel="TFLite"),
    int8: bool = typer.Option(False, "--int8", help="tflite: full-integer int8 (about 4x smaller, several times faster on CPUs), calibrated on --calibrate; kept only if it passes --check.", rich_help_panel="TFLite"),
    calibrate: Optional[Path] = typer.Option(None, "--calibrate", help="--int8: a folder of photos like the ones you will colorize (e.g. the training folder); a random 200 are used.", rich_help_panel="TFLite"),
    float16: bool = typer.Option(False, "--float16", help="tflite: store the float weights in 16 bits (half the file, computed in float32); with --int8, the fallback.", rich_help_panel="TFLite"),
    check: Optional[List[Path]] = typer.Option(None, "--check", help="tflite: a folder of colour photos to compare the .tflite with the .keras on (repeatable); with --int8, float32 is written instead unless int8 keeps PSNR within 0.1 dB and colourfulness within 1 point on every one.", rich_help_panel="TFLite"),
    overwrite: bool = typer.Option(False, "--overwrite", help="Export a run even if its name shadows a bundled model or overwrites another run's model.", rich_help_panel="Export"),
    force: bool = ForceOption,
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
    overwrite = overwrite or old_force(force)
    if fmt not in ("keras", "tflite"):
        fail(f"--format {fmt!r}: choose keras or tflite", 2)
    if fmt == "keras" and (int8 or float16 or calibrate or check):
        fail("--int8, --float16, --calibrate and --check apply to --format tflite", 2)
    model = source
    if (Path(source) / "config.json").is_file() or fmt == "keras":
        from colorize_cli import train

        try:
            card_path = train.export_run(Path(source), name, models_dir, overwrite=overwrite)
        except ColorizeError as exc:
            hint = "; to convert a model to TFLite add --format tflite" if not Path(source).is_dir() else ""
            fail(f"{exc}{hint}")
        say(("exported", "bold"), f" {card_path.with_suffix('.keras')} — use it with `colorize -m {model_argument(card_path)} PHOTO`")
        model = str(card_path.with_suffix(".keras")) if fmt == "tflite" else None
    if model is None:
        return
    from colorize_cli import tflite_export

    try:
        card = tflite_export.export_tflite(model, int8=int8, calibrate=calibrate, check_folders=list(check or []), float16=float16,
                                           log=say)
    except ColorizeError as exc:
        fail_on(exc)
    use = card.tflite_path if model.endswith(".keras") or Path(model).is_file() else card.name
    say(("exported", "bold"), f" {card.tflite_path} ({card.tflite['precision']}) — `colorize -m {use} PHOTO` runs it on LiteRT")


def app_commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)


def main():
    from colorize_cli.errors import MissingDependencyError

    try:
        app()
    except MissingDependencyError as exc:  # e.g. `train` on the light install: say what to install, in one line
        say(("Error: ", "red"), str(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()
