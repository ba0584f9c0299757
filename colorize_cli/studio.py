"""`colorize studio`: a local web page to place hints on a photo and watch its colour change.

One process serves one photo, or the photos of one folder, to a browser on this machine:

- the model runs once per photo and model (`Prediction`, cached); a change of hints or saturation only
  re-renders from that prediction (`Studio.render`, about 0.5 s for 1 MP with hints on two cores);
- Save writes NAME_color.EXT exactly as `colorize NAME --hints NAME.hints.json [--reference REF]` would
  (same pixels, same provenance record) and that hints file beside it, which the page loads back when the
  photo is opened; a reference dropped on the page is kept beside the photo as NAME.ref-DIGEST.EXT;
- safe by default: it binds 127.0.0.1 only, every request must carry the random token of the URL it
  prints (as Jupyter does) and a Host header naming this address (no DNS rebinding), and it reads and
  writes only the photos it listed at start and files inside their folder (no traversal, no symlink out).

The server is the standard library's ThreadingHTTPServer: nothing to install, ready in milliseconds
(see docs/studio.md for the choice). The page is three small static files in `studio_static/`, no CDN.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import shlex
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

import numpy as np

from colorize_cli.errors import ColorizeError

STATIC = Path(__file__).resolve().parent / "studio_static"
HOST = "127.0.0.1"
SUFFIX = "_color"  # the CLI's default: Save writes what plain `colorize NAME` would name its output
HINTS_SUFFIX = ".hints.json"
MAX_BODY = 1_000_000  # bytes of one request (a hints file of thousands of dots is ~50 kB)
MAX_UPLOAD = 50_000_000  # bytes of an uploaded reference photo
MAX_UPLOAD_PIXELS = 50_000_000  # ... and its pixels, read from its header before anything is decoded (bombs)
UPLOAD_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
REFERENCE_TAG = ".ref-"  # uploaded references are kept beside the photo as NAME.ref-DIGEST.EXT
MAX_HINTS = 2000
MAX_HINT_SIZE = 64
PREVIEW_SIDE = 2048  # the page's pictures at most this many pixels across (renders are full size)
THUMB_SIDE = 160
CACHED_PREDICTIONS = 8  # photos x models whose model run is kept
REFERENCE_NOTE = ("Drop a colour photo of the same scene, a coloured frame or the same clothes here: its colours are "
                  "matched by lightness and applied where they match; your dots win.")


class StudioError(ColorizeError):
    """A request or start-up that cannot be served; `status` is the HTTP answer, the message says why."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = int(status)


@dataclass
class Prediction:
    """One photo through one model: what every re-render of it needs."""
    image: np.ndarray  # the photo as read (OpenCV order, upright)
    meta: object  # its metadata (EXIF, ICC, ...), carried to the saved output
    lightness: np.ndarray
    ab: np.ndarray  # the network's ab at saturation 1 (normalised, network size)


@dataclass
class Edit:
    """What the page asks for: a photo, a model, a saturation and hints [(x, y, (r, g, b))] of a side."""
    photo: str
    model: str
    saturation: float
    points: list
    hint_size: int
    reference: str | None = None  # a reference photo inside the root (uploaded, or already there), relative to it


class Studio:
    """The photos, the models and the renders behind the page (no HTTP here: see `serve`).

    `provenance(model, saturation, extra) -> dict`: the record the CLI writes into its outputs for these
    settings (passed in by the CLI, so the two cannot drift); `log(line)`: one line per event worth
    telling (saves, refused requests, bad uploads, errors)."""

    def __init__(self, target: str | Path, provenance: Callable[[str, float, dict], dict],
                 log: Callable[[str], None] = lambda line: None):
        from colorize_cli import media, registry

        target = Path(target)
        if not target.exists():
            raise StudioError(f"{target}: no such file or folder; give a photo or a folder of photos")
        self.folder_mode = target.is_dir()
        if not self.folder_mode and target.suffix.lower() not in media.IMAGE_EXTENSIONS:
            raise StudioError(f"{target}: not a photo ({', '.join(sorted(media.IMAGE_EXTENSIONS))}); give a photo or a folder")
        self.root = (target if self.folder_mode else target.absolute().parent).resolve()
        self.provenance, self.log = provenance, log
        self.token = secrets.token_urlsafe(24)
        self.models = {listing.name: listing.card for listing in registry.listings() if listing.card.runnable}
        if not self.models:
            raise StudioError("no runnable model in this install; `colorize models` says where each one comes from")
        # the CLI's default (COLORIZE_MODEL, else lsgan), so that the saved command needs no -m for it
        default = os.environ.get("COLORIZE_MODEL") or registry.DEFAULT_MODEL
        self.default_model = default if default in self.models else sorted(self.models)[0]
        self.photos = self._list_photos(target)
        if not self.photos:
            raise StudioError(f"{target}: no photos to colorize in this folder")
        self._colorizers: dict = {}
        self._references: dict = {}  # path -> (mtime, reference.Reference): matching features are made once
        self._predictions: OrderedDict = OrderedDict()
        self._lock = threading.RLock()  # one model run or render at a time: two cores, and LiteRT is not re-entrant

    # -- what may be served -----------------------------------------------------------------------------
    def _list_photos(self, target: Path) -> dict[str, Path]:
        """name (relative to the root, /-separated) -> path: the only photos the page can open. A folder's
        photos without those colorize made (its outputs), and without links that lead out of it."""
        from colorize_cli import media, metadata

        if not self.folder_mode:
            return {target.name: target.absolute()}
        photos = {}
        for path in media.walk(self.root)[0]:
            if REFERENCE_TAG in path.name:  # a reference uploaded to an earlier session
                continue
            if self.inside(path) and metadata.read_provenance(path) is None:
                photos[path.relative_to(self.root).as_posix()] = path
        return photos

    def inside(self, path: Path) -> bool:
        """Is `path`, links followed, inside the root?"""
        return Path(path).resolve().is_relative_to(self.root)

    def photo(self, name) -> Path:
        if not isinstance(name, str) or name not in self.photos:
            raise StudioError(f"{name!r} is not one of the photos this studio serves", HTTPStatus.NOT_FOUND)
        return self.photos[name]

    def shape(self, name: str) -> tuple[int, int]:
        """(height, width) of the photo as read (upright), from its header where it can."""
        from colorize_cli import media, metadata

        path = self.photo(name)
        size = media.image_size(path)
        if size is None:
            with self._lock:
                return self.prediction(name, self.default_model).image.shape[:2]
        width, height = size
        # media.read_photo turns the pixels upright by the EXIF orientation
        return (width, height) if metadata.read(path).orientation in (5, 6, 7, 8) else (height, width)

    def state(self) -> dict:
        return {"photos": list(self.photos), "folder": self.folder_mode, "root": self.root.name,
                "models": [{"name": name, "saturation": float(card.saturation)} for name, card in sorted(self.models.items())],
                "default_model": self.default_model, "hint_size": _default_hint_size(),
                "reference": {"available": True, "note": REFERENCE_NOTE}, "max_upload": MAX_UPLOAD}

    # -- the model, once per photo and model -----------------------------------------------------------
    def _colorizer(self, model: str):
        if model not in self.models:
            raise StudioError(f"unknown model {model!r}; choose one of {', '.join(sorted(self.models))}")
        if model not in self._colorizers:
            from colorize_cli.pipeline import Colorizer

            self._colorizers[model] = Colorizer(model, batch_size=1, saturation=1.0)
        return self._colorizers[model]

    def prediction(self, name: str, model: str) -> Prediction:
        """The photo read and run through the model (cached; call with the lock held)."""
        from colorize_cli import media

        path = self.photo(name)
        key = (name, path.stat().st_mtime_ns, model)
        if key not in self._predictions:
            colorizer = self._colorizer(model)
            try:
                image, meta = media.read_photo(path)
            except ColorizeError as exc:
                raise StudioError(str(exc), HTTPStatus.UNPROCESSABLE_ENTITY) from None
            lightness, net_input = colorizer.prepare(image)
            # at saturation 1: the CLI's predict_ab scales this same array, so every saturation is a product away
            self._predictions[key] = Prediction(image, meta, lightness, colorizer.predict_ab(net_input[None])[0])
            while len(self._predictions) > CACHED_PREDICTIONS:
                self._predictions.popitem(last=False)
        self._predictions.move_to_end(key)
        return self._predictions[key]

    def warm_up(self) -> None:
        """Load the default model and run it on the first photo, so the page's first picture is quick."""
        try:
            with self._lock:
                self.prediction(next(iter(self.photos)), self.default_model)
        except Exception as exc:  # the page will ask again and show the message
            self.log(f"warm-up: {exc}")

    # -- renders ------------------------------------------------------------------------------------------
    def edit(self, request: dict) -> Edit:
        """A render or save request checked: StudioError naming the bad value otherwise."""
        if not isinstance(request, dict):
            raise StudioError("expected a JSON object")
        name = request.get("photo")
        self.photo(name)
        model = request.get("model", self.default_model)
        if model not in self.models:
            raise StudioError(f"unknown model {model!r}; choose one of {', '.join(sorted(self.models))}")
        saturation = request.get("saturation", self.models[model].saturation)
        if not isinstance(saturation, (int, float)) or not 0 <= saturation <= 4:
            raise StudioError(f"saturation {saturation!r}: give a number from 0 to 4")
        size = request.get("hint_size", _default_hint_size())
        if not isinstance(size, int) or not 1 <= size <= MAX_HINT_SIZE:
            raise StudioError(f"hint size {size!r}: give a whole number of pixels from 1 to {MAX_HINT_SIZE}")
        dots = request.get("hints", [])
        if not isinstance(dots, list) or len(dots) > MAX_HINTS:
            raise StudioError(f"hints: give a list of at most {MAX_HINTS} dots")
        height, width = self.shape(name)
        document = {"format": _points_format(), "version": 1, "width": width, "height": height, "hint_size": size, "hints": dots}
        points = _parse_points(document, "hints")[0]
        reference = request.get("reference") or None
        if reference is not None:
            self.reference_path(reference)
        # rounded as the page shows it: the saved command's --saturation then means exactly this number
        return Edit(name, model, round(float(saturation), 2), points, size, reference)

    def render(self, edit: Edit) -> np.ndarray:
        """The full-size output for `edit` (OpenCV order, the photo's depth and alpha), as the CLI makes it."""
        with self._lock:
            prediction = self.prediction(edit.photo, edit.model)
            colorizer = self._colorizer(edit.model)
            # Colorizer.predict_ab: the same float32 product the CLI makes with --saturation
            ab = prediction.ab * np.float32(edit.saturation) if edit.saturation != 1.0 else prediction.ab
            return colorizer.finish(prediction.image, prediction.lightness, ab, self._hints_for(edit, prediction.image))

    def _hints_for(self, edit: Edit, image: np.ndarray):
        """The studio's one call into `hints`: the page's dots and reference resolved by the same HintSpec
        that `colorize PHOTO --hints NAME.hints.json [--reference REF]` makes (its default reach)."""
        from colorize_cli import hints

        spec = hints.HintSpec(None, [], edit.hint_size, reach=hints.REACH, reference=self._reference(edit.reference),
                              file_points=(edit.points, edit.hint_size, image.shape[:2]))
        return spec.resolve(image)

    # -- references -----------------------------------------------------------------------------------------
    def reference_path(self, name) -> Path:
        """A reference photo named relative to the root: a file inside it (links followed), or StudioError."""
        from colorize_cli import media

        if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
            raise StudioError(f"reference {name!r}: give a photo inside {self.root.name}/", HTTPStatus.FORBIDDEN)
        path = self.root / name
        if not self.inside(path):
            raise StudioError(f"reference {name!r} leads outside {self.root.name}/", HTTPStatus.FORBIDDEN)
        if not path.is_file() or path.suffix.lower() not in media.IMAGE_EXTENSIONS:
            raise StudioError(f"reference {name!r}: no such photo; drop it on the page again", HTTPStatus.NOT_FOUND)
        return path

    def _reference(self, name: str | None):
        """The reference as the CLI's --reference loads it (cached while the file is unchanged)."""
        if name is None:
            return None
        from colorize_cli import reference

        path = self.reference_path(name)
        stamp = path.stat().st_mtime_ns
        if self._references.get(path, (None,))[0] != stamp:
            try:
                self._references[path] = (stamp, reference.load_all([path]))
            except ColorizeError as exc:
                raise StudioError(str(exc), HTTPStatus.UNPROCESSABLE_ENTITY) from None
        return self._references[path][1]

    def add_reference(self, photo: str, data: bytes, label: str = "upload") -> dict:
        """An uploaded reference photo, checked (an image, not a bomb, in colour) and kept beside the photo as
        NAME.ref-DIGEST.EXT, so that a saved command can name it; StudioError with what is wrong otherwise."""
        import hashlib
        import io

        from PIL import Image

        from colorize_cli import files

        source = self.photo(photo)
        Image.MAX_IMAGE_PIXELS = None  # our own limit, below, not Pillow's warning
        try:
            with Image.open(io.BytesIO(data)) as header:
                kind, (width, height) = header.format, header.size
        except Exception:
            raise StudioError(f"{label}: not an image (or a kind this page cannot read); drop a PNG, JPEG, WebP or TIFF",
                              HTTPStatus.UNPROCESSABLE_ENTITY) from None
        if kind not in UPLOAD_FORMATS:
            raise StudioError(f"{label}: a {kind} image; drop a PNG, JPEG, WebP or TIFF", HTTPStatus.UNPROCESSABLE_ENTITY)
        if width * height > MAX_UPLOAD_PIXELS:
            raise StudioError(f"{label}: {width}x{height} is {width * height / 1e6:.0f} megapixels, over the "
                              f"{MAX_UPLOAD_PIXELS / 1e6:.0f} MP limit for a reference (a corrupt or hostile file?)",
                              HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        target = source.parent / f"{source.stem}{REFERENCE_TAG}{hashlib.sha256(data).hexdigest()[:8]}{UPLOAD_FORMATS[kind]}"
        fresh = not target.exists()
        if fresh:
            files.write_atomic(target, data)
        name = target.relative_to(self.root).as_posix()
        try:
            with self._lock:
                self._reference(name)  # decodes it as --reference does: a truncated file or a gray one stops here
        except StudioError as exc:
            if fresh:
                target.unlink(missing_ok=True)
            raise StudioError(str(exc).replace(f"--reference {target}", label).replace(str(target), label), exc.status) from None
        self.log(f"reference {name} ({width}x{height}) for {photo}")
        return {"reference": name}

    def preview(self, edit: Edit) -> tuple[bytes, float]:
        """(JPEG of the render for the page, seconds it took)."""
        started = time.perf_counter()
        with self._lock:
            payload = encode_preview(self.render(edit), PREVIEW_SIDE)
        return payload, time.perf_counter() - started

    def before(self, name: str, side: int = PREVIEW_SIDE) -> bytes:
        """The photo as read, for the page (JPEG)."""
        from colorize_cli import media

        path = self.photo(name)
        with self._lock:
            try:
                image = media.read_image(path)
            except ColorizeError as exc:
                raise StudioError(str(exc), HTTPStatus.UNPROCESSABLE_ENTITY) from None
        return encode_preview(image, side)

    # -- hints files and Save -------------------------------------------------------------------------
    def hints_document(self, edit: Edit, shape: tuple[int, int], command: str) -> dict:
        from colorize_cli import hints

        document = hints.points_document(edit.points, shape, edit.hint_size)
        # the page's other settings, read back by the page (the CLI takes them from `command`)
        document.update(image=Path(edit.photo).name, model=edit.model, saturation=edit.saturation, reference=edit.reference,
                        command=command)
        return document

    def saved_hints(self, name: str) -> dict | None:
        """NAME.hints.json beside the photo, checked against it, or None when there is none."""
        path = self.photo(name)
        candidate = path.parent / (path.stem + HINTS_SUFFIX)
        if not candidate.is_file() or not self.inside(candidate):
            return None
        data = candidate.read_bytes()
        return self.load_hints(name, data, candidate.name)

    def load_hints(self, name: str, data: bytes, label: str = "uploaded hints") -> dict:
        """An uploaded hints file -> the page's settings (dots, size, model, saturation); StudioError otherwise."""
        try:
            document = json.loads(data.decode("utf-8"))
        except ValueError:
            raise StudioError(f"{label}: not a hints file (not JSON); load a NAME{HINTS_SUFFIX} saved by this page",
                              HTTPStatus.UNPROCESSABLE_ENTITY) from None
        try:
            points, size, shape = _parse_points(document, label)
        except StudioError as exc:
            raise StudioError(str(exc), HTTPStatus.UNPROCESSABLE_ENTITY) from None
        height, width = self.shape(name)
        if (height, width) != tuple(shape):
            raise StudioError(f"{label}: made for a {shape[1]}x{shape[0]} image, not this {width}x{height} photo",
                              HTTPStatus.UNPROCESSABLE_ENTITY)
        model = document.get("model") if document.get("model") in self.models else self.default_model
        saturation = document.get("saturation")
        if not isinstance(saturation, (int, float)) or not 0 <= saturation <= 4:
            saturation = float(self.models[model].saturation)
        reference = document.get("reference") or None
        if reference is not None:
            try:
                self.reference_path(reference)
            except StudioError:
                reference = None  # the file it names is gone: the page shows the dots without it
        return {"hints": [{"x": x, "y": y, "color": "#%02x%02x%02x" % rgb} for x, y, rgb in points],
                "hint_size": size, "model": model, "saturation": saturation, "reference": reference}

    def save(self, edit: Edit, folder: str = "") -> dict:
        """Write the output and its hints file into `folder` (relative to the root; "" beside the photo):
        the same file `colorize PHOTO --hints PHOTO.hints.json` (with -m/--saturation/-o as needed) makes."""
        from colorize_cli import files, media, metadata
        from colorize_cli.hints import HintSpec

        source = self.photo(edit.photo)
        target_dir = self._output_folder(source, folder)
        target = target_dir / media.plan([source], None, SUFFIX)[0].target.name
        if any(target.resolve() == p.resolve() for p in self.photos.values()):
            raise StudioError(f"{target.name} is one of the photos; choose another output folder", HTTPStatus.CONFLICT)
        if target.exists() and metadata.read_provenance(target) is None:
            raise StudioError(f"{target.relative_to(self.root)} exists and was not made by colorize; "
                              "choose another output folder (it is kept)", HTTPStatus.CONFLICT)
        hints_path = target_dir / (source.stem + HINTS_SUFFIX)
        output = self.render(edit)
        shape = output.shape[:2]
        document = self.hints_document(edit, shape, self._command(edit, source, target, hints_path))
        files.write_atomic(hints_path, (json.dumps(document, indent=1) + "\n").encode())
        # the provenance the CLI records for these settings and this very hints file
        spec = HintSpec.parse(hints_path, [], references=[self.reference_path(edit.reference)] if edit.reference else ())
        provenance = self.provenance(edit.model, edit.saturation, {"hints": spec.describe()})
        with self._lock:
            meta = self.prediction(edit.photo, edit.model).meta
        media.write_image(target, output, meta, provenance)
        self.log(f"saved {target} and {hints_path.name}")
        return {"output": str(target.relative_to(self.root)), "hints_file": str(hints_path.relative_to(self.root)),
                "command": document["command"]}

    def _output_folder(self, source: Path, folder) -> Path:
        if not isinstance(folder, str):
            raise StudioError("folder: give a folder name inside the photo's folder")
        if not folder.strip():
            return source.parent
        relative = Path(folder.strip())
        if relative.is_absolute() or ".." in relative.parts:
            raise StudioError(f"folder {folder!r}: give a folder inside {self.root.name}/ (no absolute path, no ..)",
                              HTTPStatus.FORBIDDEN)
        target = self.root / relative
        if not self.inside(target):
            raise StudioError(f"folder {folder!r} leads outside {self.root.name}/ (a link?); choose a folder inside it",
                              HTTPStatus.FORBIDDEN)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StudioError(f"folder {folder!r}: cannot create it ({exc.strerror or exc})", HTTPStatus.CONFLICT) from None
        if not self.inside(target):  # made through a link that appeared meanwhile
            raise StudioError(f"folder {folder!r} leads outside {self.root.name}/", HTTPStatus.FORBIDDEN)
        return target

    def _command(self, edit: Edit, source: Path, target: Path, hints_path: Path) -> str:
        """The shell command that makes the same output again, run in the root folder."""
        def rel(path: Path) -> str:
            return shlex.quote(str(path.resolve().relative_to(self.root)) if self.inside(path) else str(path))

        parts = ["colorize", rel(source), "--hints", rel(hints_path)]
        if edit.reference:
            parts += ["--reference", rel(self.reference_path(edit.reference))]
        if edit.model != self.default_model:
            parts += ["-m", shlex.quote(edit.model)]
        if edit.saturation != float(self.models[edit.model].saturation):
            parts += ["--saturation", f"{edit.saturation:g}"]
        if target.parent.resolve() != source.resolve().parent:
            parts += ["-o", rel(target)]
        return " ".join(parts)


def _default_hint_size() -> int:
    from colorize_cli.hints import DEFAULT_SIZE

    return DEFAULT_SIZE


def _points_format() -> str:
    from colorize_cli.hints import POINTS_FORMAT

    return POINTS_FORMAT


def _parse_points(document, label: str):
    from colorize_cli.hints import HintError, points_from_document

    try:
        return points_from_document(document, label)
    except HintError as exc:
        raise StudioError(str(exc)) from None


def encode_preview(image: np.ndarray, side: int) -> bytes:
    """A picture for the page: 8-bit JPEG, at most `side` pixels across (alpha dropped)."""
    import cv2

    from colorize_cli import media

    image = media.fit_to_format(image, ".jpg")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    height, width = image.shape[:2]
    if max(height, width) > side:
        scale = side / max(height, width)
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(image), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise StudioError("cannot encode the picture for the page", HTTPStatus.INTERNAL_SERVER_ERROR)
    return encoded.tobytes()


# -- HTTP --------------------------------------------------------------------------------------------------

STATIC_TYPES = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    # the page loads only its own files; the token never leaves in a Referer
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


class _Handler(BaseHTTPRequestHandler):
    server_version = "colorize-studio"
    protocol_version = "HTTP/1.1"
    studio: Studio  # set on the subclass `make_server` creates

    def do_GET(self):  # noqa: N802 (http.server's names)
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def log_message(self, format, *args):  # noqa: A002: the terminal gets our own lines, not one per request
        pass

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        try:
            if not self._allowed(query):
                # read nothing from a stranger; say nothing about the studio
                self.studio.log(f"refused {method} {url.path} from {self.client_address[0]}: no valid token")
                self.close_connection = True
                return self._send(HTTPStatus.FORBIDDEN, b"forbidden: open the address `colorize studio` printed",
                                  "text/plain; charset=utf-8")
            route = ROUTES.get((method, url.path))
            if route is None:
                raise StudioError(f"no such page: {method} {url.path}", HTTPStatus.NOT_FOUND)
            if (method, url.path) == ("POST", "/api/reference"):
                body = self._body(MAX_UPLOAD, "give a smaller copy of the reference photo")
            else:
                body = self._body() if method == "POST" else b""
            route(self, query, body)
        except StudioError as exc:
            if exc.status in (HTTPStatus.UNPROCESSABLE_ENTITY, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.FORBIDDEN):
                self.studio.log(f"refused {method} {url.path}: {exc}")
            self._json({"error": str(exc)}, exc.status)
        except ColorizeError as exc:  # e.g. hints that do not fit, an output folder that is full
            self.studio.log(f"{method} {url.path}: {exc}")
            self._json({"error": str(exc)}, HTTPStatus.UNPROCESSABLE_ENTITY)
        except (BrokenPipeError, ConnectionResetError):  # the page went away mid-answer
            self.close_connection = True
        except Exception as exc:  # never take the server down; one line for the terminal and the page
            self.studio.log(f"{method} {url.path}: {type(exc).__name__}: {exc}")
            self._json({"error": f"internal error: {type(exc).__name__}: {exc}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _allowed(self, query: dict) -> bool:
        port = self.server.server_address[1]
        host_ok = self.headers.get("Host", "") in (f"{HOST}:{port}", f"localhost:{port}")
        given = query.get("token") or self.headers.get("X-Colorize-Token") or ""
        return host_ok and hmac.compare_digest(given.encode(), self.studio.token.encode())

    def _body(self, limit: int = MAX_BODY, what: str = f"load a NAME{HINTS_SUFFIX} saved by this page") -> bytes:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise StudioError("a request body needs its Content-Length", HTTPStatus.LENGTH_REQUIRED) from None
        if length > limit or length < 0:
            self.close_connection = True  # its body is not read
            raise StudioError(f"upload of {length / 1e6:.1f} MB is over the {limit / 1e6:.0f} MB limit; {what}",
                              HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        return self.rfile.read(length)

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in {**SECURITY_HEADERS, "Content-Type": content_type, "Content-Length": str(len(payload)),
                           **(headers or {})}.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, value, status: int = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    @staticmethod
    def _request(body: bytes) -> dict:
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError:
            raise StudioError("the request is not JSON") from None

    # -- routes -----------------------------------------------------------------------------------------
    def index(self, query, body):
        page = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{token}}", self.studio.token)
        self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")

    def static(self, query, body, name: str = ""):
        self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), STATIC_TYPES[name])

    def state(self, query, body):
        self._json(self.studio.state())

    def before(self, query, body):
        self._send(HTTPStatus.OK, self.studio.before(query.get("photo")), "image/jpeg")

    def thumb(self, query, body):
        self._send(HTTPStatus.OK, self.studio.before(query.get("photo"), THUMB_SIDE), "image/jpeg")

    def photo_info(self, query, body):
        name = query.get("photo")
        height, width = self.studio.shape(name)
        try:
            saved, problem = self.studio.saved_hints(name), None
        except StudioError as exc:  # a broken hints file beside the photo: the photo still opens, the page says why
            saved, problem = None, f"{exc} (not loaded)"
            self.studio.log(problem)
        self._json({"photo": name, "width": width, "height": height, "saved": saved, "saved_error": problem})

    def render(self, query, body):
        payload, seconds = self.studio.preview(self.studio.edit(self._request(body)))
        self._send(HTTPStatus.OK, payload, "image/jpeg", {"X-Render-Ms": f"{seconds * 1000:.0f}"})

    def save(self, query, body):
        request = self._request(body)
        self._json(self.studio.save(self.studio.edit(request), request.get("folder", "")))

    def load_hints(self, query, body):
        self._json(self.studio.load_hints(query.get("photo"), body))

    def reference(self, query, body):
        self._json(self.studio.add_reference(query.get("photo"), body, query.get("name") or "upload"))


ROUTES = {
    ("GET", "/"): _Handler.index,
    ("GET", "/static/app.js"): lambda h, q, b: _Handler.static(h, q, b, "app.js"),
    ("GET", "/static/style.css"): lambda h, q, b: _Handler.static(h, q, b, "style.css"),
    ("GET", "/api/state"): _Handler.state,
    ("GET", "/api/before"): _Handler.before,
    ("GET", "/api/thumb"): _Handler.thumb,
    ("GET", "/api/photo"): _Handler.photo_info,
    ("POST", "/api/render"): _Handler.render,
    ("POST", "/api/save"): _Handler.save,
    ("POST", "/api/load-hints"): _Handler.load_hints,
    ("POST", "/api/reference"): _Handler.reference,
}


def make_server(studio: Studio, port: int = 0) -> ThreadingHTTPServer:
    """A server for `studio` on 127.0.0.1:`port` (0: a free one), not yet serving."""
    import errno

    handler = type("StudioHandler", (_Handler,), {"studio": studio})
    try:
        server = ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StudioError(f"port {port} is in use; choose another --port or leave it out for a free one") from None
        raise StudioError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc}); choose another --port") from None
    server.daemon_threads = True  # a page left open does not hold up Ctrl-C
    return server


def url_of(server: ThreadingHTTPServer, studio: Studio) -> str:
    return f"http://{HOST}:{server.server_address[1]}/?token={studio.token}"


def serve(studio: Studio, port: int = 0, open_browser: bool = True, on_ready: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C: prints the URL through `on_ready`, opens it in the default browser if asked,
    and loads the default model in the background meanwhile."""
    server = make_server(studio, port)
    url = url_of(server, studio)
    warm_up = threading.Thread(target=studio.warm_up, name="studio-warm-up", daemon=True)
    warm_up.start()
    on_ready(url)
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(url,), name="studio-browser", daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        # let a model load or render in flight finish: a thread killed inside OpenCV or LiteRT at
        # interpreter exit aborts the process (exit 134 instead of 0)
        warm_up.join(timeout=30)
        if studio._lock.acquire(timeout=30):
            studio._lock.release()
