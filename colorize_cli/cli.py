"""The `colorize` command line. Argument parsing, rich output and exit codes only: the work is done
in `pipeline`, `media`, `registry` and `train`, imported inside the commands so that
`colorize --help` starts instantly (no TensorFlow)."""

from __future__ import annotations

import difflib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from typer.core import TyperGroup

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


app = typer.Typer(
    cls=DefaultCommandGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Colorize black-and-white photos and folders.\n\n"
    "  colorize photo.jpg                 -> photo_color.jpg\n\n"
    "  colorize archive/ -o out/          -> out/ mirrors archive/\n\n"
    "  colorize -m colorful scan.tif      -> another model (see `colorize models`)",
)


def fail(message: str, code: int = 1):
    console.print(f"[red]Error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


def version_callback(value: bool):
    if value:
        from colorize_cli import __version__

        typer.echo(f"colorize {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True, help="Show the version and exit.")):
    """Colorize black-and-white photos and folders with GAN or CNN colorizers trained by this tool."""


ModelOption = typer.Option("lsgan", "-m", "--model", envvar="COLORIZE_MODEL", help="Model name (see `colorize models`) or path to a .keras file.")


@app.command(DEFAULT_COMMAND)
def colorize_command(
    paths: Optional[List[str]] = typer.Argument(None, help="Images, folders (searched recursively), videos, stream URLs "
                                                         "(rtsp://, http://…), or - for raw frames on stdin.", show_default=False),
    model: str = ModelOption,
    output: Optional[str] = typer.Option(None, "-o", "--output", help="Output file (one input) or folder; - for stdout (raw bgr24). Default: beside each file as NAME_color.EXT; a folder goes to FOLDER_color/; a video to NAME_color.mp4."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo outputs that already exist (default: skip them, so a rerun resumes)."),
    suffix: str = typer.Option("_color", "--suffix", help="Added to names written beside their input, and to a folder's default output folder."),
    fmt: Optional[str] = typer.Option(None, "--format", help="Output format for every image: jpg, png, tif, webp, bmp. Default: the input's."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, max=256, help="Images or frames per model call."),
    camera: Optional[int] = typer.Option(None, "--camera", help="Colorize a live camera (index, e.g. 0)."),
    raw: Optional[str] = typer.Option(None, "--raw", help="With '-': stdin carries raw gray8 frames of WIDTHxHEIGHT, e.g. 640x360."),
    fps: float = typer.Option(25.0, "--fps", min=0.1, help="Frame rate of --raw input or of a camera's recording."),
    show: bool = typer.Option(False, "--show", help="Preview window (key o: original beside it; q: stop)."),
    smooth: bool = typer.Option(True, "--smooth/--no-smooth", help="Video: blend colours over time (reset at scene cuts) to stop flicker."),
    start: float = typer.Option(0.0, "--start", min=0.0, help="Video: start at this second."),
    duration: Optional[float] = typer.Option(None, "--duration", min=0.0, help="Video: process this many seconds."),
    reconnect: int = typer.Option(0, "--reconnect", min=0, help="Streams: reopen a dropped stream up to N times, then end cleanly."),
    max_pixels: int = typer.Option(250_000_000, "--max-pixels", min=1, help="Refuse images larger than this (checked before decoding)."),
    saturation: Optional[float] = typer.Option(None, "--saturation", min=0.0, max=4.0, help="Scale the predicted colour: 0 gray, 1 as predicted, >1 more vivid. Default: the model's calibrated value (`colorize models`)."),
):
    """Colorize images, folders, videos and streams (the default command: `colorize photo.jpg`)."""
    from colorize_cli import media, video

    paths = list(paths or [])
    if camera is None and not paths:
        fail("nothing to colorize: give image files, folders, videos, a stream URL, - (with --raw) or --camera N", 2)
    streams = [p for p in paths if p == "-" or p.startswith(video.STREAM_PREFIXES)]
    local = [Path(p) for p in paths if p not in streams]
    missing = [p for p in local if not p.exists()]
    if missing:
        p = missing[0]
        close = difflib.get_close_matches(str(p), [c for c in app_commands() if c != DEFAULT_COMMAND], n=1)
        hint = f" (did you mean the '{close[0]}' command?)" if close else "; check the path"
        fail(f"{p}: no such file or folder{hint}", 2)
    videos = [str(p) for p in local if p.is_file() and video.is_video(p)] + streams
    images = [p for p in local if str(p) not in videos]
    raw_size = parse_size(raw) if raw else None

    failures, lines = 0, []
    model = ModelChoice(model, saturation)
    if images:
        failures += colorize_images(images, model, Path(output) if output else None, overwrite, suffix, fmt, batch_size, media, max_pixels)
    for spec in videos + (["camera"] if camera is not None else []):
        failures += colorize_one_video(spec, model, output, overwrite, suffix, batch_size, camera if spec == "camera" else None,
                                       raw_size, fps, show, smooth, start, duration, reconnect,
                                       several=len(videos) > 1)
    if failures:
        raise typer.Exit(1)


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


def load_colorizer(model: ModelChoice, batch_size: int):
    try:
        from colorize_cli.pipeline import Colorizer

        return Colorizer(model.name, batch_size=batch_size, saturation=model.saturation)
    except ColorizeError as exc:
        fail(str(exc))


def colorize_images(paths, model, output, overwrite, suffix, fmt, batch_size, media, max_pixels) -> int:
    try:
        jobs = media.plan(paths, output, suffix, fmt)
    except ColorizeError as exc:
        fail(str(exc), 2)
    todo = [j for j in jobs if overwrite or not j.target.exists()]
    skipped = len(jobs) - len(todo)
    if not jobs:
        fail(f"no images found in {', '.join(map(str, paths))}", 1)
    if not todo:
        console.print(f"Nothing to do: all {len(jobs)} outputs exist (use --overwrite to redo them).")
        return 0
    failures = []
    for job in todo:  # header-only size check first: a bomb is refused in milliseconds, before the model loads
        try:
            media.check_pixels(job.source, max_pixels)
        except ColorizeError as exc:
            failures.append((job, str(exc)))
            console.print(f"[red]failed:[/red] {exc}", soft_wrap=True)
    refused = {job for job, _ in failures}
    todo_ok = [job for job in todo if job not in refused]
    if todo_ok:
        # sizes were checked above, so the workers decode without reading each header again
        failures += run_jobs(load_colorizer(model, batch_size), todo_ok, lambda path: media.read_image(path, max_pixels=None),
                             media.write_image)
    done = len(todo) - len(failures)
    console.print(f"[bold]{done} colorized[/bold], {skipped} skipped (already done), {len(failures)} failed"
                  + (f" — output: {todo[0].target if len(jobs) == 1 else common_root(todo)}" if done else ""))
    return len(failures)


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
                       reconnect, several) -> int:
    import signal
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from colorize_cli import video

    target = None if show and output is None else video_target(spec, output, suffix, several)
    if target not in (None, "-"):
        if Path(target).resolve() == Path(spec).resolve():
            fail(f"{target}: output would overwrite the input; choose another -o or --suffix", 2)
        if Path(target).exists() and not overwrite:
            console.print(f"Nothing to do: {target} exists (use --overwrite to redo it).")
            return 0
    try:
        source = video.open_source(spec if spec != "camera" else "", camera, raw_size, fps, start, duration, reconnect)
    except ColorizeError as exc:
        console.print(f"[red]Error:[/red] {exc}", soft_wrap=True)
        return 1
    colorizer = load_colorizer(model, batch_size)
    info = source.info
    try:
        if show:
            sink = video.ShowSink(f"colorize {spec}")
        elif target == "-":
            sink = video.RawSink(sys.stdout.buffer)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            sink = video.PyAVSink(Path(target), info, source)
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
        with Progress(*columns, console=console, disable=target == "-" and not console.is_terminal) as progress:
            task = progress.add_task("video", total=info.frames, rate="")

            def on_frame(count):
                elapsed = time.perf_counter() - started
                progress.update(task, completed=count, rate=f"{count / max(elapsed, 1e-9):.1f} frames/s")

            result = video.colorize_video(colorizer, source, sink, smooth=smooth, on_frame=on_frame, stop=stop)
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
        return 1
    note = " (stopped by Ctrl-C; the file is complete up to there)" if interrupted.is_set() else ""
    if result.stopped_early:
        note += f"; input ended early: {result.stopped_early}"
    audio = "" if target in (None, "-") else (" with its audio" if info.has_audio else "")
    console.print(f"[bold]{result.frames} frames[/bold] colorized at {result.frames / max(result.seconds, 1e-9):.1f} frames/s"
                  f"{audio}{' -> ' + target if target not in (None, '-') else ''}{note}", soft_wrap=True)
    return 0


def run_jobs(colorizer, jobs, read, write) -> list:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    failures = []
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn()]
    started = time.perf_counter()
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal and len(jobs) < 2) as progress:
        task = progress.add_task(f"colorizing with {colorizer.name}", total=len(jobs), rate="")
        results = colorizer.run(jobs, load=lambda job: read(job.source), save=lambda job, image: write(job.target, image))
        for count, (job, _, error) in enumerate(results, start=1):
            if error is not None:
                message = str(error) if isinstance(error, ColorizeError) else f"{job.source}: {type(error).__name__}: {error}"
                failures.append((job, message))
                progress.console.print(f"[red]failed:[/red] {message}", soft_wrap=True)
                if isinstance(error, OutputError):  # the disk or folder, not this photo: stop instead of failing the rest
                    results.close()  # lets the writes in flight finish or fail cleanly
                    left = [j for j in jobs[count:] if not j.target.exists()]
                    failures.extend((j, "not attempted") for j in left)
                    progress.console.print(f"[red]stopped:[/red] {len(left)} photos not done", soft_wrap=True)
                    break
            rate = count / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, rate=f"{rate:.1f} img/s")
    return failures


def common_root(jobs) -> Path:
    return Path(os.path.commonpath([str(j.target.parent) for j in jobs]))


@app.command("models")
def models_command():
    """List the registered models; ✓ marks those with trained weights here."""
    from rich.table import Table

    from colorize_cli import registry

    try:
        cards = registry.list_models()
    except ColorizeError as exc:
        fail(str(exc))
    table = Table(title="colorize models", title_justify="left",
                  caption="*: default · ✓: weights here · sat.: saturation · kodak24: PSNR dB (gray baseline 22.46) "
                          "and colourfulness as % of the truth's", caption_justify="left")
    for column in ("name", "✓", "network", "loss", "sat.", "kodak24", "colour"):
        table.add_column(column, no_wrap=True)
    for name, card in sorted(cards.items()):
        kodak = card.metrics.get("kodak24", {})
        terms = [card.objective if card.adv == 1 else f"{card.adv:g}·{card.objective}"] if card.adv else []
        terms += [f"{w:g}·{n}" if w != 1 else n for w, n in ((card.l1, "L1"), (card.l2, "L2")) if w]
        table.add_row(name + (" *" if name == registry.DEFAULT_MODEL else ""),
                      "[green]✓[/green]" if card.has_weights else "[dim]–[/dim]",
                      f"{card.arch} w{card.width}@{card.input_size}", "+".join(terms), f"{card.saturation:g}",
                      f"{kodak['psnr']:.2f}" if "psnr" in kodak else "—",
                      f"{kodak['colorfulness_ratio']:.0%}" if "colorfulness_ratio" in kodak else "—")
    Console(highlight=False).print(table)


@app.command("eval")
def eval_command(
    folders: List[Path] = typer.Argument(..., help="Folders of colour photos (made gray, colorized, compared with the originals); "
                                                   "black-and-white folders are colorized and shown without scores.", show_default=False),
    models: List[str] = typer.Option(["lsgan"], "-m", "--model", help="Model name or .keras path; repeat for several; 'all' = every model with weights."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for metrics.json/.csv, report.md and the comparison grids."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate a random subset of N photos per folder (see --seed)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the --limit subset."),
    grid_rows: int = typer.Option(8, "--grid-rows", min=1, help="Photos per comparison grid."),
):
    """Score models against the gray baseline: PSNR, SSIM, ΔE2000, AuC, colourfulness, images/s; tables, grids, plot."""
    from rich.table import Table

    from colorize_cli import evaluate, registry

    for folder in folders:
        if not folder.is_dir():
            fail(f"{folder}: not a folder; give folders of photos", 2)
    try:
        names = [n for n, c in sorted(registry.list_models().items()) if c.has_weights] if models == ["all"] else models
        from colorize_cli.pipeline import Colorizer

        colorizers = [Colorizer(name) for name in names]
    except ColorizeError as exc:
        fail(str(exc))
    results = []
    for folder in folders:
        with console.status(f"evaluating {folder} …") as status:
            try:
                result = evaluate.evaluate_dataset(folder, colorizers, limit, seed, progress=lambda m: status.update(f"{folder}: {m} done"))
            except ColorizeError as exc:
                fail(str(exc))
        if not result.photos:
            fail(f"{folder}: no images found", 1)
        results.append(result)
        header, rows = evaluate.table_rows(result)
        table = Table(title=f"{result.name} ({len(result.photos)} photos)", title_justify="left")
        for column in header:
            table.add_column(column, justify="left" if column == "model" else "right", no_wrap=column == "model")
        for row in rows:
            table.add_row(*row)
        Console(highlight=False).print(table)
        if not result.has_truth:
            console.print(f"{folder}: no colour truth (black-and-white photos): only colourfulness is measured; see the grids.",
                          soft_wrap=True)
    written = evaluate.write_report(results, out, grid_rows)
    console.print(f"wrote {len(written)} files to {out}/ (report.md, metrics.json, metrics.csv, grids)")


MODEL_NAMES = ["colorful", "gan", "lsgan", "ebgan", "wgan", "wgan-gp"]


@app.command("train")
def train_command(
    data_dir: Path = typer.Argument(..., help="Folder of colour photos (searched recursively).", show_default=False),
    model: str = typer.Option("lsgan", "-m", "--model", help=f"Recipe: {', '.join(MODEL_NAMES)}."),
    run: Optional[Path] = typer.Option(None, "--run", help="Run folder for checkpoints, samples and logs (default runs/MODEL). Rerunning into it resumes."),
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
    n_critic: Optional[int] = typer.Option(None, "--n-critic", min=1, help="Critic updates per generator update (WGAN: 5)."),
    clip: Optional[float] = typer.Option(None, "--clip", help="WGAN weight clipping range (default 0.01)."),
    gp_weight: Optional[float] = typer.Option(None, "--gp-weight", help="WGAN-GP gradient-penalty weight (default 10)."),
    margin: Optional[float] = typer.Option(None, "--margin", help="EBGAN margin on the per-sample RMS energy (default 0.3)."),
    pull_away: Optional[float] = typer.Option(None, "--pull-away", help="EBGAN pull-away term weight (0.1 in Zhao et al.; default off)."),
    label_smoothing: Optional[float] = typer.Option(None, "--label-smoothing", help="One-sided: real target 1 - this (GAN/LSGAN)."),
    val: Optional[Path] = typer.Option(None, "--val", help="Validation folder (default: 2% of DATA_DIR held out)."),
    balance: bool = typer.Option(False, "--balance", help="Draw each top-level subfolder of DATA_DIR equally often (for data gathered from lopsided sources)."),
    init: Optional[str] = typer.Option(None, "--init", help="Fine-tune: start the generator from this model (name or .keras path; same --width and --image-size)."),
    seed: int = typer.Option(0, "--seed"),
    strategy: str = typer.Option("auto", "--strategy", help="auto, mirrored (all local GPUs), multi-worker (TF_CONFIG), none."),
    mixed_precision: bool = typer.Option(False, "--mixed-precision", help="bfloat16 compute on GPUs/CPUs that support it."),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every", min=1, help="Checkpoint every N steps (and at every epoch end)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the exported model (default: the run folder's name)."),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", envvar="COLORIZE_MODELS_DIR", help="Where the model is exported."),
):
    """Train a colorizer on a folder of colour photos and export it for `colorize -m NAME`."""
    if model not in MODEL_NAMES:
        close = difflib.get_close_matches(model, MODEL_NAMES, n=1)
        fail(f"unknown recipe {model!r}{f' (did you mean {close[0]!r}?)' if close else ''}; choose one of {', '.join(MODEL_NAMES)}", 2)
    if not data_dir.is_dir():
        fail(f"{data_dir}: not a folder; give a folder of colour photos", 2)
    from colorize_cli import train

    options = {"critic_steps": n_critic, "clip": clip, "gp_weight": gp_weight, "margin": margin,
               "pull_away": pull_away, "label_smoothing": label_smoothing}
    cfg = train.TrainConfig(model=model, data_dir=str(data_dir), run_dir=str(run or Path("runs") / model), epochs=epochs,
                            steps=steps, batch_size=batch_size, image_size=image_size, width=width, d_width=d_width,
                            lr=lr, adv=adv, l1=l1, l2=l2, val_dir=str(val) if val else None, balance=balance, init_from=init, seed=seed, export_name=name,
                            strategy=strategy, mixed_precision=mixed_precision, checkpoint_every=checkpoint_every,
                            objective_options={k: v for k, v in options.items() if v is not None})
    try:
        from colorize_cli.progress import rich_progress

        card_path = train.train(cfg, models_dir=models_dir, log=lambda m: console.print(m, soft_wrap=True),
                                progress=rich_progress(console))
    except ColorizeError as exc:
        fail(str(exc))
    except ValueError as exc:  # e.g. an image size the architecture cannot take
        fail(str(exc), 2)
    console.print(f"[bold]exported[/bold] {card_path.with_suffix('.keras')} — use it with `colorize -m {card_path.stem} PHOTO`")


@app.command("export")
def export_command(
    run: Path = typer.Argument(..., help="A run folder of `colorize train`.", show_default=False),
    name: Optional[str] = typer.Option(None, "--name", help="Model name (default: the run folder's name)."),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", envvar="COLORIZE_MODELS_DIR", help="Where to write it."),
):
    """Export a run's latest checkpoint as a model usable with `colorize -m NAME`."""
    from colorize_cli import train

    try:
        card_path = train.export_run(run, name, models_dir)
    except ColorizeError as exc:
        fail(str(exc))
    console.print(f"[bold]exported[/bold] {card_path.with_suffix('.keras')} — use it with `colorize -m {card_path.stem} PHOTO`")


def app_commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)


def main():
    app()


if __name__ == "__main__":
    main()
