"""The folder job on a Ray cluster (`colorize SRC -o DST --engine ray`): the same jobs, reader and writer as
the local engine, run by Ray Data actors instead of threads in this process.

The command plans the jobs (mirrored tree, skip-done resume with the provenance check, size checks)
exactly as for the local engine and hands them, with its `load(job)` and `save(job, image)`, to
`RayColorizer.run`, which has the signature of `pipeline.Colorizer.run`; so the command's progress display,
failure lines, summary and exit code are the local engine's own code. Here:

- the jobs become rows of a Ray dataset, in blocks of a few batches,
- a fixed pool of actors, each holding one loaded model, runs the local engine's pipeline on each block
  (`Colorizer.run`: reading and decoding, the model in batches, writing atomically, overlapped in the
  actor's threads), so reading and writing happen on the workers, next to the storage,
- each job's outcome (None or its exception) comes back to the driver, which yields them in job order.

Reading stays in the actor that colorizes, rather than in separate Ray tasks: `load` and `save` share the
input's metadata (EXIF, ICC profile) between them, and moving decoded full-resolution pixels between
processes through the object store costs more than decoding them where they are used.

Faults: Ray restarts a killed actor and retries its block. The retry skips outputs that the earlier attempt
completed (a target modified since the run started), so every input is written once; the temporary files of
writes cut short by the kill are removed when the run ends (`sweep_partial`).

Resources: asking for more CPUs than the cluster has does not fail, it waits forever, so the pool is sized
from `ray.cluster_resources()` with fractional CPUs (`pool_plan`). Ray's own log lines go to its session
log files (/tmp/ray/session_latest/logs), not the terminal.

Ray is an optional dependency: `pip install 'colorize-cli[ray]'`."""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from colorize_cli.errors import ColorizeError, MissingDependencyError
from colorize_cli.errors import UsageError as ColorizeUsageError

INSTALL_HINT = "pip install 'colorize-cli[ray]' (in a source checkout: pip install -e '.[ray]')"


def import_ray(address: str | None = None):
    """`ray` with Ray Data, or a MissingDependencyError naming the extra to install. To connect to a cluster
    (`address`) with an authentication token at hand (`auth_token_source`), the client is put in token mode
    first, as `ray start` does for the cluster: Ray reads RAY_AUTH_MODE when it loads (without a token it
    must stay off: token mode without one aborts the process). A local instance is left as Ray sets it up."""
    if address and address != "local" and auth_token_source() and os.environ.get("RAY_AUTH_MODE", "disabled").lower() == "disabled":
        os.environ["RAY_AUTH_MODE"] = "token"
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise MissingDependencyError(f"--engine ray needs Ray Data (no module {exc.name or 'ray'!r}): {INSTALL_HINT}") from None
    quiet_ray()
    return ray


def quiet_ray() -> None:
    """Keep Ray's and Ray Data's log lines off the terminal (they still reach the session's log files), and
    its deprecation warnings about its own settings (Ray Data's context sets deprecated fields itself)."""
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray(\.|$)")
    for name in ("ray", "ray.data", "ray.train", "ray.tune"):
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler) and "File" not in type(handler).__name__:
                handler.setLevel(logging.ERROR)
    logging.getLogger("ray").setLevel(logging.ERROR)


# -- sizing ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolPlan:
    actors: int  # colorizing actors, one loaded model each
    actor_cpus: float  # CPUs each actor reserves
    actor_gpus: float  # GPUs each actor reserves
    threads: int  # reading/finishing/writing threads inside an actor (they overlap the model, as locally)


def pool_plan(resources: dict, workers: int | None = None) -> PoolPlan:
    """How many actors and what each asks for, from the cluster's resources (summed over its nodes).

    One actor per 2 CPUs (its two threads decode and encode while the model runs, the local engine's
    measure), or one per GPU. Together the actors reserve at most 90 % of the CPUs, as fractions where
    needed: asking for more than the cluster has (on a 2-CPU machine, two 1-CPU actors plus a 1-CPU task)
    does not fail, it waits forever."""
    cpus = float(resources.get("CPU", 1.0))
    gpus = float(resources.get("GPU", 0.0))
    if workers is not None and workers < 1:
        raise ColorizeError(f"--workers {workers}: give at least 1")
    actors = workers or (int(gpus) if gpus >= 1 else max(1, int(cpus // 2)))
    actor_gpus = min(1.0, gpus / actors) if gpus >= 1 else 0.0
    actor_cpus = math.floor(cpus * 0.9 / actors * 100) / 100  # in hundredths of a CPU
    if actor_cpus <= 0:
        raise ColorizeError(f"--workers {workers}: more actors than this cluster's {cpus:g} CPUs can hold; "
                            f"give at most {int(cpus * 90)}")
    return PoolPlan(actors, actor_cpus, actor_gpus, threads=max(2, round(actor_cpus)))


# -- the model, sent to every actor --------------------------------------------------------------------

@dataclass
class ModelFiles:
    """A model as bytes, so that every actor loads exactly the driver's model (a user's own model
    exists only on the machine that trained it; bundled ones may differ between installs)."""
    model: str  # the name, or the file name for a model given as a path
    files: dict  # file name -> bytes
    registered: bool

    @classmethod
    def of(cls, model: str) -> "ModelFiles":
        from colorize_cli import registry

        as_path = Path(model)
        if model.endswith((".keras", ".tflite")) or as_path.is_file():
            if not as_path.is_file():
                raise ColorizeError(f"{as_path}: model file not found; check the path or run `colorize models`")
            paths = [as_path, as_path.with_suffix(".json")]
            return cls(as_path.name, {p.name: p.read_bytes() for p in paths if p.is_file()}, registered=False)
        card = registry.get_card(model)  # an unknown name fails here, on the driver, with close matches
        paths = [p for p in (card.path, card.weights_path, card.tflite_path) if p is not None and p.is_file()]
        if not any(p.suffix in (".keras", ".tflite") for p in paths):
            registry.resolve(model)  # raises the usual "no trained weights" error
        return cls(model, {p.name: p.read_bytes() for p in paths}, registered=True)

    def load(self, **options):
        """A `pipeline.Colorizer` of this model, loaded from a private temporary copy of its files."""
        import shutil

        from colorize_cli.pipeline import Colorizer

        folder = Path(tempfile.mkdtemp(prefix="colorize-model-"))
        try:
            for name, payload in self.files.items():
                (folder / name).write_bytes(payload)
            if self.registered:
                os.environ["COLORIZE_MODELS_DIR"] = str(folder)  # this actor's process only: its models come first
            return Colorizer(self.model if self.registered else str(folder / self.model), **options)
        finally:  # loaded (or mapped: Linux keeps a deleted file's pages) and not needed again
            shutil.rmtree(folder, ignore_errors=True)


# -- the Ray Data pipeline -----------------------------------------------------------------------------

def _dump_error(error: BaseException) -> bytes:
    try:
        return pickle.dumps(error)
    except Exception:  # an exception that cannot cross processes: keep its type name and message
        return pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))


class ColorizeActor:
    """One loaded model; runs the local engine's pipeline (`Colorizer.run`: reading, the model in batches,
    writing, overlapped in threads) over each batch of jobs it is given."""

    def __init__(self, model: ModelFiles, batch_size: int, saturation, backend: str, threads: int,
                 load: Callable, save: Callable, options: dict, started: float):
        self.colorizer = model.load(batch_size=batch_size, workers=threads, saturation=saturation, backend=backend)
        self.load, self.save, self.options, self.started = load, save, options, started

    def __call__(self, batch):
        import pyarrow as pa

        jobs = [pickle.loads(b) for b in batch["job"].to_pylist()]

        def save(k, image):
            if not written_in_this_run(jobs[k], self.started):  # a retried batch: done by the attempt before
                self.save(jobs[k], image)

        errors = [None] * len(jobs)
        # options that are functions of the job (hints_of(job, image)) are called with the job, not its row
        options = {key: (lambda k, *rest, f=f: f(jobs[k], *rest)) if callable(f) else f for key, f in self.options.items()}
        for k, _, error in self.colorizer.run(range(len(jobs)), load=lambda k: self.load(jobs[k]), save=save, **options):
            errors[k] = None if error is None else _dump_error(error)
        return pa.table({"i": batch["i"], "error": pa.array(errors, pa.large_binary())})


def written_in_this_run(job, started: float) -> bool:
    """Does `job`'s output exist, written since `started` (wall clock)? A Ray batch retried after a killed
    worker meets the outputs the first attempt completed."""
    if hasattr(job, "written_since"):  # on remote storage (storage.RemoteJob)
        return job.written_since(started)
    target = getattr(job, "target", None)
    if target is None:
        return False
    try:
        return Path(target).stat().st_mtime >= started
    except OSError:
        return False


def local_target(job) -> Path | None:
    """`job`'s output as a path on this machine, or None (remote storage, or no output)."""
    target = getattr(job, "target", None)
    if isinstance(target, str):
        from colorize_cli.storage import local_path

        return local_path(target)
    return target


class RayColorizer:
    """Stands in for `pipeline.Colorizer` in the folder job: same `name` and `run(jobs, load, save)`, but
    the work runs on a Ray cluster (`address`), or on a local Ray instance sized to this machine that
    starts and stops with the run. If Ray is already initialised in this process, that instance is used."""

    def __init__(self, model: str, batch_size: int = 8, saturation: float | None = None, backend: str = "auto",
                 address: str | None = None, workers: int | None = None, num_cpus: int | None = None):
        from colorize_cli import pipeline

        # decided here, once: the backend the outputs' provenance names is the one every actor runs (and a bad
        # --backend or a missing .tflite is said now, not by the actors)
        backend = pipeline.choose_backend(model, backend)[0]
        self.model = ModelFiles.of(model)
        self.name = Path(model).stem if not self.model.registered else model
        self.batch_size, self.saturation, self.backend = batch_size, saturation, backend
        self.address, self.workers, self.num_cpus = address, workers, num_cpus
        self.plan: PoolPlan | None = None
        self.ray = import_ray(address)

    def run(self, jobs: Iterable, load: Callable, save: Callable | None = None,
            **options) -> Iterator[tuple[object, None, BaseException | None]]:
        """Yield `(job, None, error)` for every job, in job order, as `Colorizer.run` does with a `save`.
        Further options of `Colorizer.run` that are functions of the job (e.g. `hints_of`) go to the actors;
        `ab_hook` (video smoothing: predictions in order) has no meaning here."""
        if save is None or options.get("ab_hook") is not None:
            raise ValueError("the Ray engine writes from its workers: give `save`, no `ab_hook`")
        options = {key: value for key, value in options.items() if value is not None}
        jobs = list(jobs)
        if not jobs:
            return
        ray = self.ray
        owned = not ray.is_initialized()
        if owned:
            start_ray(self.address, self.num_cpus)
        try:
            yield from self._run(jobs, load, save, options)
        finally:
            sweep_partial([target for target in map(local_target, jobs) if target is not None])
            if owned:
                ray.shutdown()

    def _run(self, jobs, load, save, options):
        import pyarrow as pa

        ray = self.ray
        self.plan = plan = pool_plan(ray.cluster_resources(), self.workers)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        quiet_ray()
        started = time.time()
        # one block is one call of an actor, which runs the local pipeline over it: at least 4 batches, so that
        # reading and writing overlap the model for most of the block (measured: blocks of 13 photos ran the
        # steady state 1.4x slower than the local engine); about 4 blocks per actor, so a small folder still
        # reaches every actor; at most 512, so a killed actor redoes little and millions of photos stay a
        # manageable number of blocks
        block = max(4 * self.batch_size, min(512, math.ceil(len(jobs) / (4 * plan.actors))))
        tables = [pa.table({"i": pa.array(range(s, min(s + block, len(jobs))), pa.int64()),
                            "job": pa.array([pickle.dumps(j) for j in jobs[s:s + block]], pa.large_binary())})
                  for s in range(0, len(jobs), block)]
        ds = ray.data.from_arrow(tables)
        ds = ds.map_batches(ColorizeActor, batch_size=None, batch_format="pyarrow",
                            compute=ray.data.ActorPoolStrategy(size=plan.actors),
                            fn_constructor_kwargs={"model": self.model, "batch_size": self.batch_size,
                                                   "saturation": self.saturation, "backend": self.backend,
                                                   "threads": plan.threads, "load": load, "save": save,
                                                   "options": options, "started": started},
                            num_cpus=plan.actor_cpus, num_gpus=plan.actor_gpus or None)
        done: dict[int, BaseException | None] = {}
        following = 0
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0):
                for i, error in zip(batch["i"].to_pylist(), batch["error"].to_pylist()):
                    done[i] = None if error is None else pickle.loads(error)
                while following in done:  # in job order: the caller's bookkeeping counts positions
                    yield jobs[following], None, done.pop(following)
                    following += 1
        except Exception as exc:
            raise unwrap(exc) from None
        for i in range(following, len(jobs)):  # only if Ray lost rows: say so rather than report success
            yield jobs[i], None, done.pop(i) if i in done else ColorizeError(f"{jobs[i].source}: no result came back "
                                                                             "from the Ray cluster; rerun to redo it")


def unwrap(exc: BaseException) -> BaseException:
    """The user's error inside Ray's wrappers (e.g. a model refused in the actors' constructor)."""
    original, seen = exc, set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ColorizeError):
            return exc
        exc = getattr(exc, "cause", None) or exc.__cause__
    missing = re.search(r"No module named '(colorize_cli[\w.]*)'", str(original))
    if missing:  # the cluster runs another colorize (or none): its workers cannot load this one's jobs
        return ColorizeError(f"the Ray cluster's workers cannot import {missing.group(1)}: install this colorize version "
                             f"(pip install 'colorize-cli[ray]'=={__import__('colorize_cli').__version__}) on every node, then rerun")
    first_line = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return ColorizeError(f"the Ray run failed ({type(original).__name__}: {first_line}); finished photos are kept: "
                         "rerun the same command to do the rest (Ray's logs: /tmp/ray/session_latest/logs)")


TOKEN_PLACES = "RAY_AUTH_TOKEN, the file RAY_AUTH_TOKEN_PATH names, or ~/.ray/auth_token"


def auth_token_source() -> str | None:
    """Where Ray will read this client's authentication token from (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH,
    ~/.ray/auth_token: Ray's own order), or None when there is none."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return "RAY_AUTH_TOKEN"
    named = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if named:
        return named if Path(named).expanduser().is_file() else None
    default = Path.home() / ".ray" / "auth_token"
    return str(default) if default.is_file() else None


def check_cluster(address: str, timeout: float = 3.0) -> None:
    """Fail fast, in one line, where `ray.init(address)` would retry for 20 s and then hide the cause: nothing
    listening at `address`, or a cluster that wants an authentication token (Ray's token authentication)
    this client does not have (`import_ray` puts the client in token mode when it has one)."""
    import socket

    if address == "auto" or "://" in address:
        return  # Ray finds the local cluster itself; ray:// is the Ray Client's own protocol
    host, _, port = address.rpartition(":")
    nothing_there = ColorizeUsageError(f"no Ray cluster at {address} (start one with `ray start --head`, or drop --address)")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except (OSError, ValueError):
        raise nothing_there from None
    source = auth_token_source() if os.environ.get("RAY_AUTH_MODE", "disabled").lower() == "token" else None
    from ray._raylet import GcsClient

    try:
        GcsClient(address=address).cluster_id  # one request: answered, or refused for want of a token
    except Exception as exc:  # noqa: BLE001 (Ray's AuthenticationError is not importable on every version)
        if "Authentication" in type(exc).__name__ or "InvalidAuthToken" in str(exc):
            if source:
                raise ColorizeUsageError(f"the Ray cluster at {address} refused the token from {source}; use the cluster's "
                                         "own (`ray get-auth-token` on its head node prints it)") from None
            raise ColorizeUsageError(f"the Ray cluster at {address} needs an authentication token, read from {TOKEN_PLACES}; "
                                     "copy it from the head node (`ray get-auth-token` prints it)") from None
        raise nothing_there from None


def start_ray(address: str | None = None, num_cpus: int | None = None) -> float:
    """Connect to the cluster at `address` (checked first: `check_cluster`), or start a local instance
    (`num_cpus`: default all). Returns the seconds it took."""
    ray = import_ray(address)
    began = time.perf_counter()
    options = dict(log_to_driver=False, logging_level=logging.ERROR, configure_logging=True, include_dashboard=False)
    try:
        if address:
            check_cluster(address)
            ray.init(address=address, **options)
        else:
            # "local": a new instance for this run, even where `ray start` once left its address behind
            ray.init(address="local", num_cpus=num_cpus, **options)
    except ConnectionError as exc:
        raise ColorizeError(f"--address {address}: cannot connect to a Ray cluster there ({exc}); start one with "
                            "`ray start --head` or check the address") from None
    quiet_ray()
    return time.perf_counter() - began


# -- no partial files --------------------------------------------------------------------------------

def partial_name_pattern(target: Path) -> re.Pattern:
    """The temporary names `files.atomic_path` gives a write of `target`: `.{stem}.{8 random}.part`."""
    return re.compile(r"\." + re.escape(target.stem) + r"\.[A-Za-z0-9_]{8}\.part")


def sweep_partial(targets: Iterable) -> int:
    """Remove the temporary files that writes of `targets` left behind when their process was killed
    (a kill skips the clean-up of `files.atomic_path`). Only names of that exact form are touched."""
    by_folder: dict[Path, set[str]] = {}
    for target in targets:
        target = Path(target)
        by_folder.setdefault(target.parent, set()).add(target.stem)
    removed = 0
    for folder, stems in by_folder.items():
        try:
            names = [e.name for e in os.scandir(folder) if e.name.startswith(".") and e.name.endswith(".part")]
        except OSError:
            continue
        for name in names:
            stem = name[1:-len(".part")].rsplit(".", 1)[0]
            if stem in stems and partial_name_pattern(Path(stem)).fullmatch(name):
                try:
                    (folder / name).unlink()
                    removed += 1
                except OSError:
                    pass
    return removed
