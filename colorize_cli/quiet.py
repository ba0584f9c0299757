"""Keep the libraries' chatter off the terminal: no line from TensorFlow, absl, oneDNN, OpenCV or FFmpeg
unless `--verbose`.

Log levels are set through the environment before the libraries load, but some lines ignore them
(absl's "All log messages before absl::InitializeLog() is called are written to STDERR", the oneDNN
notice, grappler's "E0000 … remapper failed" during training): they are written by C++ straight to file
descriptor 2. So the command line points descriptor 2 at /dev/null and gives Python's `sys.stderr` a
private copy of the real one: our own messages, progress bars and tracebacks still reach the terminal,
the C-level writes of the libraries do not. oneDNN itself stays on (it is a speed feature)."""

from __future__ import annotations

import os
import sys
import warnings

_done = False

# Python packages whose warnings (deprecations, retracing notices) are noise to someone colorizing photos
NOISY_MODULES = r"(keras|tensorflow|tf_keras|absl|google\.protobuf|h5py|av|cv2)(\.|$)"


def quiet_libraries(verbose: bool = False) -> None:
    """Silence library output for the rest of the process (the CLI calls this before importing them).
    With `verbose`, everything is left as it is. Harmless to call more than once."""
    global _done
    if verbose or _done:
        return
    _done = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO/WARNING (errors are ours to report)
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # "[ WARN:0@0.027] … can't open camera by index"
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # quiet: OpenCV's own FFmpeg backend
    warnings.filterwarnings("ignore", module=NOISY_MODULES)
    logging = getattr(getattr(sys.modules.get("cv2"), "utils", None), "logging", None)
    if logging is not None and hasattr(logging, "setLogLevel"):  # already loaded: the variable came too late
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    _redirect_c_stderr()


def _redirect_c_stderr() -> None:
    """Point descriptor 2 at /dev/null; `sys.stderr` keeps writing to the real stderr through a copy."""
    try:
        if sys.stderr is None or sys.stderr.fileno() != 2:
            return  # stderr is captured (tests, embedding applications): leave the process alone
    except (AttributeError, OSError, ValueError):
        return
    try:
        sys.stderr.flush()
        copy = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        return
    sys.stderr = os.fdopen(copy, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8", errors="backslashreplace")
