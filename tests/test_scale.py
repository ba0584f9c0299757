"""Archive scale: the folder job on Ray (`--engine ray`) gives what the local engine gives, survives a killed
worker, and multi-worker training matches one process. Ray runs as a local 2-CPU instance started once for
the module; images are small so the whole module stays within a couple of minutes on 2 cores."""

import os
import signal
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import gradient_bgr, invoke

ray = pytest.importorskip("ray", reason="the Ray engine is an optional extra: pip install -e '.[ray]'")

@pytest.fixture(scope="module")
def local_ray():
    from colorize_cli import ray_engine

    ray_engine.start_ray(num_cpus=2)
    yield ray
    ray.shutdown()


def mixed_archive(root: Path) -> Path:
    """Good photos of several sizes, kinds and depths, a truncated JPEG, a text file posing as a PNG and a
    note that is not an image at all."""
    (root / "sub" / "deeper").mkdir(parents=True)
    cv2.imwrite(str(root / "a.jpg"), gradient_bgr(48, 64))
    cv2.imwrite(str(root / "sub" / "b.jpg"), cv2.cvtColor(gradient_bgr(90, 40), cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(root / "sub" / "c.png"), gradient_bgr(20, 50, np.uint16))
    cv2.imwrite(str(root / "sub" / "deeper" / "d.tif"), gradient_bgr(33, 17))
    cv2.imwrite(str(root / "e.webp"), gradient_bgr(64, 64))
    jpeg = cv2.imencode(".jpg", gradient_bgr(120, 160))[1].tobytes()
    (root / "truncated.jpg").write_bytes(jpeg[:300])
    (root / "sub" / "fake.png").write_text("not a picture")
    (root / "notes.txt").write_text("scanned 1952")
    return root


def outputs(folder: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(folder).as_posix(): cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def failure_lines(text: str) -> list[str]:
    return sorted(line for line in text.splitlines() if line.startswith("failed:"))


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine_and_resumes(local_ray, tmp_path):
    archive = mixed_archive(tmp_path / "archive")
    local = invoke(archive, "-m", "tiny", "-o", tmp_path / "local")
    on_ray = invoke(archive, "-m", "tiny", "-o", tmp_path / "ray", "--engine", "ray", "--batch-size", "2")
    assert local.exit_code == 1 and on_ray.exit_code == 1, on_ray.output
    assert failure_lines(on_ray.output) == failure_lines(local.output)
    assert len(failure_lines(on_ray.output)) == 2
    assert "truncated.jpg: not a decodable image" in on_ray.output and "fake.png: not a decodable image" in on_ray.output
    assert "5 colorized" in on_ray.output and "2 failed" in on_ray.output
    mine, theirs = outputs(tmp_path / "ray"), outputs(tmp_path / "local")
    assert sorted(mine) == ["a.jpg", "e.webp", "sub/b.jpg", "sub/c.png", "sub/deeper/d.tif"]  # no partial files
    assert sorted(mine) == sorted(theirs)
    for name in mine:  # the same model and code path: the same pixels, bit depth and alpha
        assert mine[name].dtype == theirs[name].dtype and np.array_equal(mine[name], theirs[name]), name

    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "ray").rglob("*") if p.is_file()}
    again = invoke(archive, "-m", "tiny", "-o", tmp_path / "ray", "--engine", "ray")
    assert again.exit_code == 1  # the two bad files are tried again and fail again; nothing else is redone
    assert "0 colorized, 5 skipped" in again.output and failure_lines(again.output) == failure_lines(local.output)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "ray").rglob("*") if p.is_file()} == mtimes


@pytest.mark.slow
def test_folders_on_remote_storage_through_pyarrow(local_ray, tmp_path):
    """s3://, gs://, hdfs:// go through pyarrow's file systems; file:// takes the same path on a local folder."""
    archive = tmp_path / "archive"
    (archive / "sub").mkdir(parents=True)
    cv2.imwrite(str(archive / "a.jpg"), gradient_bgr(48, 64))
    cv2.imwrite(str(archive / "sub" / "b.png"), gradient_bgr(30, 20, np.uint16))
    (archive / "c.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (archive / "notes.txt").write_text("1952")
    source, target = f"file://{archive}", f"file://{tmp_path / 'out'}"
    result = invoke(source, "-m", "tiny", "-o", target, "--engine", "ray")
    assert result.exit_code == 1, result.output
    assert f"{source}/c.jpg: not a decodable image" in result.output
    assert "2 colorized" in result.output and "1 failed" in result.output and "not colorized: 1 file" in result.output
    invoke(archive, "-m", "tiny", "-o", tmp_path / "local")  # the local engine on the same folder, compared below
    mine, theirs = outputs(tmp_path / "out"), outputs(tmp_path / "local")
    assert sorted(mine) == sorted(theirs) == ["a.jpg", "sub/b.png"]  # mirrored, no temporary files left
    assert all(mine[n].dtype == theirs[n].dtype and np.array_equal(mine[n], theirs[n]) for n in mine)
    again = invoke(source, "-m", "tiny", "-o", target, "--engine", "ray")
    assert "0 colorized, 2 skipped" in again.output  # the bad file is tried again, the rest is there
    assert invoke(source, "-m", "tiny", "-o", target).exit_code == 2  # remote folders need --engine ray


def test_remote_plan_mirrors_like_local_folders(tmp_path):
    from colorize_cli import media, storage

    (tmp_path / "in" / "x" / ".hidden").mkdir(parents=True)
    for name in ("a.GIF", "x/b.tif", "x/.hidden/c.jpg", "x/.d.jpg", "e.txt"):
        (tmp_path / "in" / name).write_bytes(b"")
    jobs, others = storage.plan(f"file://{tmp_path / 'in'}", "s3://bucket/out", fmt=None)
    assert [(j.source.rsplit("/in/", 1)[1], j.target) for j in jobs] == [("a.GIF", "s3://bucket/out/a.png"),
                                                                       ("x/b.tif", "s3://bucket/out/x/b.tif")]
    assert [o.rsplit("/in/", 1)[1] for o in others] == ["e.txt"]
    local = media.plan([tmp_path / "in"], tmp_path / "out", fmt="webp")
    remote, _ = storage.plan(str(tmp_path / "in"), "s3://bucket/out", fmt="webp")
    assert [j.target.relative_to(tmp_path / "out").as_posix() for j in local] == [j.target[len("s3://bucket/out/"):] for j in remote]


def test_engine_options_are_checked(tmp_path):
    photo = tmp_path / "x.jpg"
    cv2.imwrite(str(photo), gradient_bgr())
    assert invoke(photo, "-m", "tiny", "--engine", "spark").exit_code == 2
    result = invoke(photo, "-m", "tiny", "--workers", "3")
    assert result.exit_code == 2 and "--engine ray" in result.output


def test_pool_never_asks_for_more_cpus_than_the_cluster_has():
    from colorize_cli.ray_engine import pool_plan

    for cpus in (1, 2, 3, 16, 64):
        for workers in (None, 1, 2, 4, 8):
            plan = pool_plan({"CPU": float(cpus)}, workers)
            assert plan.actors * plan.actor_cpus <= cpus * 0.9 + 1e-9 and plan.actor_cpus > 0
    assert pool_plan({"CPU": 2.0}).actors == 1 and pool_plan({"CPU": 16.0}).actors == 8
    gpu = pool_plan({"CPU": 32.0, "GPU": 4.0})
    assert gpu.actors == 4 and gpu.actor_gpus == 1.0


def our_actor_pids(name: str = "ColorizeActor") -> list[int]:
    """Processes of the Ray actors running `name` that descend from this test process (the Ray instance
    the fixture started): found by their process titles, never anyone else's processes."""
    def parent(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return 0

    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if name not in title or not title.startswith("ray::"):
            continue
        pid = int(entry)
        while pid > 1 and pid != me:
            pid = parent(pid)
        if pid == me:
            found.append(int(entry))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the actor's process through /proc")
def test_killed_worker_every_photo_written_once_no_partial_files(local_ray, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    count = 48
    for i in range(count):  # large enough that the run is still going when the first outputs appear
        cv2.imwrite(str(archive / f"p{i:02d}.jpg"), cv2.resize(gradient_bgr(60, 80), (800 + i, 600)))
    out = tmp_path / "out"
    first_seen: dict[Path, int] = {}  # output -> inode when first seen: a second write replaces the inode
    killed: list[tuple[int, int]] = []  # (pid, outputs existing at the kill)
    done = threading.Event()

    def watch():
        while not done.is_set():
            present = [p for p in out.glob("*.jpg")] if out.is_dir() else []
            for p in present:
                try:
                    first_seen.setdefault(p, p.stat().st_ino)
                except FileNotFoundError:
                    pass
            if not killed and len(present) >= 3:
                pids = our_actor_pids()
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append((pids, len(present)))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = invoke(archive, "-m", "tiny", "-o", out, "--engine", "ray", "--batch-size", "4")
    finally:
        done.set()
        watcher.join()
    assert killed, "the actor was never found to kill"
    assert len(killed[0][0]) == 1, "one actor on 2 CPUs: the process killed is the one colorizing"
    assert killed[0][1] < count, "the run ended before the kill: nothing was interrupted"
    assert result.exit_code == 0, result.output
    assert f"{count} colorized, 0 skipped" in result.output and "0 failed" in result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"p{i:02d}.jpg" for i in range(count)]  # every input, and no partial (hidden .part) files
    rewritten = [p.name for p, inode in first_seen.items() if p.stat().st_ino != inode]
    assert rewritten == [], f"written twice: {rewritten}"
    assert all(cv2.imread(str(out / name)).shape == (600, 800 + int(name[1:3]), 3) for name in files)

    again = invoke(archive, "-m", "tiny", "-o", out, "--engine", "ray")
    assert again.exit_code == 0 and "Nothing to do" in again.output


# -- training on two workers ------------------------------------------------------------------------------

# Workers and the reference run start the real command line. The reference starts from the workers' weights
# because both are given the same --seed (the workers would agree regardless: MultiWorkerMirroredStrategy
# broadcasts the chief's values).
CLI = ("import sys; {setup}from colorize_cli import train; from colorize_cli.cli import main; "
       "sys.argv[0] = 'colorize'; main()")
# one process, the same global batch split over two replicas as over the two workers
TWO_REPLICAS = ("import tensorflow as tf; cpu = tf.config.list_physical_devices('CPU')[0]; "
                "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2); "
                "from colorize_cli import train; "
                "train.make_strategy = lambda name: tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1']); ")


def free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def trainable_weights(path: Path) -> list[np.ndarray]:
    from colorize_cli import registry

    return [np.asarray(v) for v in registry.load_keras_model(path).trainable_weights]


@pytest.mark.slow
def test_two_workers_train_what_one_process_trains(tmp_path):
    import json
    import subprocess
    import sys

    data = tmp_path / "photos"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):  # 16 train, 8 held out
        image = np.roll(gradient_bgr(40 + i, 48), 3 * i, axis=1).astype(int) + rng.integers(-20, 20, (40 + i, 48, 3))
        cv2.imwrite(str(data / f"c{i:02d}.png"), np.clip(image, 0, 255).astype(np.uint8))
    args = ["train", str(data), "--model", "colorful", "--image-size", "32", "--width", "4", "--steps", "3",
            "--batch-size", "4", "--seed", "3", "--checkpoint-every", "1000", "--name", "mw"]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}  # loopback only
    runs = {}
    for index in range(2):  # each worker its own run folder and models folder: the chief's (0) export is the model
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        runs[f"worker{index}"] = subprocess.Popen(
            [sys.executable, "-c", CLI.format(setup=""), *args, "--strategy", "multi-worker", "--run", str(tmp_path / f"run{index}"),
             "--models-dir", str(tmp_path / f"models{index}")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    runs["one process"] = subprocess.Popen(
        [sys.executable, "-c", CLI.format(setup=TWO_REPLICAS), *args, "--strategy", "mirrored", "--run", str(tmp_path / "run_one"),
         "--models-dir", str(tmp_path / "models_one")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    logs = {}
    try:
        for name, process in runs.items():
            logs[name] = process.communicate(timeout=300)[0].decode(errors="replace")
    finally:
        for process in runs.values():  # a worker whose peer died waits for it: never leave one behind
            if process.poll() is None:
                process.kill()
                process.wait()
    for name, process in runs.items():
        assert process.returncode == 0, f"{name} failed:\n{logs.get(name, '')[-3000:]}"
    assert "training on 2 replicas" in logs["worker0"] and "training on 2 replicas" in logs["one process"]

    chief, other, one = (trainable_weights(tmp_path / folder / "mw.keras") for folder in ("models0", "models1", "models_one"))
    assert all(np.array_equal(a, b) for a, b in zip(chief, other))  # the gradients were all-reduced: one model
    # the same global batch of 4, split 2 + 2, and the same seed in one process: the same weights up to the
    # order of float additions in the all-reduce (measured: identical)
    assert max(float(np.abs(a - b).max()) for a, b in zip(chief, one)) <= 1e-6

    photo = tmp_path / "x.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(gradient_bgr(), cv2.COLOR_BGR2GRAY))
    result = invoke(photo, "-m", tmp_path / "models0" / "mw.keras", "-o", tmp_path / "x_color.png")
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "x_color.png")).shape == (48, 64, 3)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_an_existing_cluster_with_token_authentication(tmp_path):
    """`ray start --head` with token authentication (started and stopped here, as its own process group):
    without the token one line says where it is read from; with it the folder runs there and gives the local
    engine's outputs; a wrong address fails within 15 s; Ctrl-C stops within 5 s, finished files kept."""
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile

    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if ray_cli is None:
        pytest.skip("the `ray` command is not installed (pip install -e '.[ray]')")
    repo = Path(__file__).resolve().parents[1]
    head_home = tmp_path / "head-home"
    head_home.mkdir()
    head_env = {**os.environ, "HOME": str(head_home), "RAY_AUTH_MODE": "token", "PYTHONPATH": str(repo)}  # workers run this checkout
    subprocess.run([ray_cli, "get-auth-token", "--generate"], env=head_env, check=True, capture_output=True, timeout=120)
    token = head_home / ".ray" / "auth_token"
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # its own sessions and address file (short: socket paths)
    head = subprocess.Popen([ray_cli, "start", "--head", "--block", "--port", str(port), "--num-cpus", "1", "--temp-dir", temp,
                             "--include-dashboard", "false", "--disable-usage-stats"], env=head_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    client_env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    client_env.update(HOME=str(tmp_path / "client-home"), PYTHONPATH=str(repo))

    def colorize(*args, **env):
        began = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "colorize_cli", *map(str, args)], env={**client_env, **env},
                                capture_output=True, text=True, timeout=180)
        return result, time.perf_counter() - began

    try:
        deadline = time.time() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and head.poll() is None, "ray start --head did not come up"
                time.sleep(0.5)
        archive = tmp_path / "archive"
        (archive / "sub").mkdir(parents=True)
        for i in range(4):
            cv2.imwrite(str(archive / ("sub" if i % 2 else "") / f"p{i}.jpg"), cv2.cvtColor(gradient_bgr(48 + 8 * i, 64), cv2.COLOR_BGR2GRAY))
        address = ["--engine", "ray", "--address", f"127.0.0.1:{port}", "-m", "lsgan"]

        result, took = colorize(archive, "-o", tmp_path / "no-token", *address)
        assert result.returncode == 2, result.stderr[-2000:]
        assert (f"the Ray cluster at 127.0.0.1:{port} needs an authentication token, read from RAY_AUTH_TOKEN, the file "
                "RAY_AUTH_TOKEN_PATH names, or ~/.ray/auth_token") in result.stderr and took < 15
        assert not (tmp_path / "no-token").exists()

        nowhere = free_port()
        result, took = colorize(archive, "-o", tmp_path / "nowhere", "--engine", "ray", "--address", f"127.0.0.1:{nowhere}", "-m", "lsgan")
        assert result.returncode == 2 and took < 15
        assert f"no Ray cluster at 127.0.0.1:{nowhere} (start one with `ray start --head`, or drop --address)" in result.stderr

        result, _ = colorize(archive, "-o", tmp_path / "ray", *address, RAY_AUTH_TOKEN_PATH=str(token))
        assert result.returncode == 0, result.stderr[-2000:]
        assert "4 colorized" in result.stderr
        local = invoke(archive, "-m", "lsgan", "-o", tmp_path / "local")
        assert local.exit_code == 0, local.output
        mine, theirs = outputs(tmp_path / "ray"), outputs(tmp_path / "local")
        assert sorted(mine) == sorted(theirs) == ["p0.jpg", "p2.jpg", "sub/p1.jpg", "sub/p3.jpg"]
        assert all(np.array_equal(mine[name], theirs[name]) for name in mine)

        many = tmp_path / "many"
        many.mkdir()
        for i in range(60):
            cv2.imwrite(str(many / f"p{i:02d}.jpg"), cv2.cvtColor(gradient_bgr(300, 400), cv2.COLOR_BGR2GRAY))
        out = tmp_path / "many-out"
        run = subprocess.Popen([sys.executable, "-m", "colorize_cli", str(many), "-o", str(out), *address, "--batch-size", "2"],
                               env={**client_env, "HOME": str(head_home)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while not (out.is_dir() and any(out.glob("*.jpg"))):
            assert time.time() < deadline and run.poll() is None, run.communicate()[1][-2000:]
            time.sleep(0.2)
        run.send_signal(signal.SIGINT)
        began = time.perf_counter()
        _, stderr = run.communicate(timeout=30)
        assert time.perf_counter() - began < 5, f"took {time.perf_counter() - began:.1f} s to stop"
        assert run.returncode == 130 and "Ctrl-C: " in stderr and "rerun the same command to do the rest" in stderr
        assert not [p for p in out.iterdir() if p.name.startswith(".")]  # nothing partial
        assert all(cv2.imread(str(p)) is not None for p in out.glob("*.jpg"))  # every file kept is whole
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_a_cluster_without_this_colorize_is_named():
    from colorize_cli import __version__
    from colorize_cli.ray_engine import unwrap

    error = RuntimeError("ActorDiedError: The actor died because of an error raised in its creation task ... "
                         "ModuleNotFoundError: No module named 'colorize_cli.jobs'")
    assert str(unwrap(error)) == (f"the Ray cluster's workers cannot import colorize_cli.jobs: install this colorize version "
                                  f"(pip install 'colorize-cli[ray]'=={__version__}) on every node, then rerun")
