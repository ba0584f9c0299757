"""`colorize studio` (colorize_cli.studio): the page's API on a real loopback server, the safety rules
(token, host, traversal, links, uploads), Save reproduced by the CLI, the command as a process, and
the page itself in headless Chromium."""

import http.client
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorize_cli import colorspace, metadata, studio
from colorize_cli.jobs import Model
from conftest import invoke

pytestmark = pytest.mark.light  # no TensorFlow: see conftest.py

BLUE = "#1f3fbf"


def two_regions(height=120, width=160):
    """A gray photo: a dark left half and a bright right half (a strong edge between), mild noise."""
    gray = np.full((height, width), 70, np.float32)
    gray[:, width // 2:] = 190
    gray += np.random.default_rng(0).normal(0, 1.5, gray.shape)
    return np.clip(gray + 0.5, 0, 255).astype(np.uint8)


def provenance(name, saturation, extra):
    return Model(name, saturation, provenance_extra=extra).provenance()


@pytest.fixture
def photo(tmp_path):
    root = tmp_path / "scans"
    root.mkdir()
    path = root / "street.png"
    cv2.imwrite(str(path), two_regions())
    return path


class Served:
    """A studio on a real 127.0.0.1 server in a thread; `call` speaks HTTP to it."""

    def __init__(self, target):
        self.lines = []
        self.studio = studio.Studio(target, provenance, self.lines.append)
        self.server = studio.make_server(self.studio)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def call(self, method, path, body=None, token=True, host=None, params="", headers=None):
        connection = http.client.HTTPConnection(studio.HOST, self.port, timeout=30)
        query = "&".join(p for p in (f"token={self.studio.token}" if token is True else (f"token={token}" if token else ""), params) if p)
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        connection.request(method, f"{path}?{query}", body=data,
                           headers={"Host": host or f"127.0.0.1:{self.port}", **(headers or {})})
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, payload, dict(response.getheaders())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served(photo):
    running = Served(photo)
    yield running
    running.close()


def decode(payload):
    image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def mean_ab(bgr, rows, cols):
    return colorspace.bgr_to_lab(np.ascontiguousarray(bgr[rows, cols]))[:, :, 1:].reshape(-1, 2).mean(axis=0)


# -- the API ---------------------------------------------------------------------------------------------

def test_render_shows_the_automatic_colour_and_a_hint_recolours_its_region_only(served):
    status, payload, headers = served.call("GET", "/api/state")
    state = json.loads(payload)
    assert status == 200 and state["photos"] == ["street.png"] and state["default_model"] == "lsgan"
    assert "lsgan" in [m["name"] for m in state["models"]] and state["reference"]["available"] is True
    status, payload, _ = served.call("GET", "/api/photo", params="photo=street.png")
    assert status == 200 and json.loads(payload)["width"] == 160 and json.loads(payload)["height"] == 120
    edit = {"photo": "street.png", "model": "lsgan", "saturation": 1.0, "hint_size": 5, "hints": []}
    status, plain, headers = served.call("POST", "/api/render", edit)
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and int(headers["X-Render-Ms"]) >= 0
    status, hinted, _ = served.call("POST", "/api/render", {**edit, "hints": [{"x": 40, "y": 60, "color": BLUE}]})
    assert status == 200
    plain, hinted = decode(plain), decode(hinted)
    left, right = (slice(20, 100), slice(10, 60)), (slice(20, 100), slice(100, 150))
    assert mean_ab(hinted, *left)[1] < mean_ab(plain, *left)[1] - 15  # b* towards blue where the dot is
    assert np.abs(mean_ab(hinted, *right) - mean_ab(plain, *right)).max() < 2  # not across the edge
    # the model ran once for the photo; the second render re-used its prediction
    assert len(served.studio._predictions) == 1


def test_bad_render_requests_get_one_line_naming_the_value(served):
    base = {"photo": "street.png", "model": "lsgan", "saturation": 1.0, "hints": []}
    for change, words in (({"model": "nope"}, "unknown model 'nope'"), ({"saturation": 9}, "saturation 9"),
                          ({"hints": [{"x": 500, "y": 1, "color": BLUE}]}, "outside its 160x120"),
                          ({"hints": [{"x": 5, "y": 1, "color": "blurple"}]}, "unknown colour 'blurple'"),
                          ({"photo": "other.png"}, "not one of the photos")):
        status, payload, _ = served.call("POST", "/api/render", {**base, **change})
        assert status in (400, 404) and words in json.loads(payload)["error"]
    status, payload, _ = served.call("POST", "/api/render", b"{not json")
    assert status == 400 and "not JSON" in json.loads(payload)["error"]


def test_save_writes_what_the_cli_makes_from_the_saved_hints_file(served, photo, monkeypatch):
    edit = {"photo": "street.png", "model": "lsgan", "saturation": 1.7, "hint_size": 7,
            "hints": [{"x": 40, "y": 60, "color": BLUE}, {"x": 120, "y": 30, "color": "#c03020"}]}
    status, payload, _ = served.call("POST", "/api/save", edit)
    saved = json.loads(payload)
    assert status == 200, saved
    output, hints_file = photo.parent / "street_color.png", photo.parent / "street.hints.json"
    assert saved["output"] == "street_color.png" and saved["hints_file"] == "street.hints.json"
    assert saved["command"] == "colorize street.png --hints street.hints.json --saturation 1.7"
    assert any("saved" in line for line in served.lines)
    # the command it names makes the identical picture, and sees the saved file as its own
    monkeypatch.chdir(photo.parent)
    args = shlex.split(saved["command"])[1:]
    rerun = invoke(*args)
    assert rerun.exit_code == 0 and "Nothing to do" in rerun.output  # same provenance as the CLI's
    made = invoke(*args, "-o", "cli.png")
    assert made.exit_code == 0, made.output
    assert np.array_equal(cv2.imread(str(output), cv2.IMREAD_UNCHANGED), cv2.imread("cli.png", cv2.IMREAD_UNCHANGED))
    assert metadata.read_provenance(output) == metadata.read_provenance(Path("cli.png"))
    # the page gets the file back when the photo is opened again
    status, payload, _ = served.call("GET", "/api/photo", params="photo=street.png")
    back = json.loads(payload)["saved"]
    assert back == {"hints": edit["hints"], "hint_size": 7, "model": "lsgan", "saturation": 1.7, "reference": None}
    assert json.loads(hints_file.read_text())["command"] == saved["command"]


def test_save_into_a_chosen_folder_and_never_over_a_file_colorize_did_not_make(served, photo):
    edit = {"photo": "street.png", "hints": [{"x": 40, "y": 60, "color": BLUE}]}
    status, payload, _ = served.call("POST", "/api/save", {**edit, "folder": "out/v1"})
    saved = json.loads(payload)
    assert status == 200 and (photo.parent / "out/v1/street_color.png").is_file()
    assert saved["command"] == "colorize street.png --hints out/v1/street.hints.json -o out/v1/street_color.png"
    foreign = photo.parent / "street_color.png"
    foreign.write_bytes(cv2.imencode(".png", two_regions())[1].tobytes())
    status, payload, _ = served.call("POST", "/api/save", edit)
    assert status == 409 and "not made by colorize" in json.loads(payload)["error"]
    assert cv2.imread(str(foreign)) is not None and metadata.read_provenance(foreign) is None  # kept


def coloured_scene(height=120, width=160):
    """The two-region scene in colour (a green left half, a red right half): a reference for `two_regions`."""
    gray = two_regions(height, width)
    lab = np.zeros((height, width, 3), np.float32)
    lab[:, :, 0] = gray.astype(np.float32) * 100 / 255
    lab[:, : width // 2, 1], lab[:, : width // 2, 2] = -35, 30
    lab[:, width // 2:, 1], lab[:, width // 2:, 2] = 45, 25
    return (np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), 0, 1) * 255 + 0.5).astype(np.uint8)


def test_a_reference_colours_the_render_and_save_names_it_for_the_cli(served, photo, monkeypatch):
    status, payload, _ = served.call("POST", "/api/reference", cv2.imencode(".png", coloured_scene())[1].tobytes(),
                                     params="photo=street.png&name=scene.png")
    reference = json.loads(payload)["reference"]
    assert status == 200 and reference.startswith("street.ref-") and (photo.parent / reference).is_file()
    edit = {"photo": "street.png", "hints": []}
    plain = decode(served.call("POST", "/api/render", edit)[1])
    guided = decode(served.call("POST", "/api/render", {**edit, "reference": reference})[1])
    right = (slice(20, 100), slice(100, 150))
    assert mean_ab(guided, *right)[0] > mean_ab(plain, *right)[0] + 10  # redder, as the reference is there
    status, payload, _ = served.call("POST", "/api/save", {**edit, "reference": reference,
                                                          "hints": [{"x": 40, "y": 60, "color": BLUE}]})
    saved = json.loads(payload)
    assert status == 200 and saved["command"] == f"colorize street.png --hints street.hints.json --reference {reference}"
    monkeypatch.chdir(photo.parent)
    args = shlex.split(saved["command"])[1:]
    assert "Nothing to do" in invoke(*args).output
    assert invoke(*args, "-o", "cli.png").exit_code == 0
    assert np.array_equal(cv2.imread("street_color.png", cv2.IMREAD_UNCHANGED), cv2.imread("cli.png", cv2.IMREAD_UNCHANGED))
    assert json.loads(served.call("GET", "/api/photo", params="photo=street.png")[1])["saved"]["reference"] == reference
    for name in ("../x.png", "/etc/passwd", "street.hints.json"):
        status, _, _ = served.call("POST", "/api/render", {**edit, "reference": name})
        assert status in (403, 404)
    assert Served(photo.parent).studio.state()["photos"] == ["street.png"]  # a reference is not a photo to colorize


def png_declaring(width, height):
    """A tiny PNG whose header declares width x height pixels (a decompression bomb's signature)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


# -- safety ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("route", [("GET", "/"), ("GET", "/static/app.js"), ("GET", "/api/state"),
                                   ("GET", "/api/before"), ("POST", "/api/save"), ("POST", "/api/render")])
def test_every_request_without_the_token_or_from_another_host_is_refused(served, photo, route):
    method, path = route
    body = {"photo": "street.png", "hints": []} if method == "POST" else None
    for kwargs in ({"token": None}, {"token": "wrong" + served.studio.token}, {"host": f"evil.example:{served.port}"}):
        status, payload, _ = served.call(method, path, body, params="photo=street.png", **kwargs)
        assert status == 403 and b"forbidden" in payload
    assert not (photo.parent / "street_color.png").exists()
    assert any("no valid token" in line for line in served.lines)
    status, _, headers = served.call(method, path, body, params="photo=street.png")
    assert status == 200 and headers["Referrer-Policy"] == "no-referrer"


def test_only_the_photo_and_its_folder_are_served_and_written(served, photo, tmp_path):
    secret = tmp_path / "secret.png"
    cv2.imwrite(str(secret), two_regions(20, 20))
    for name in ("../secret.png", str(secret), "street.png/../../secret.png", "%2e%2e/secret.png"):
        status, _, _ = served.call("GET", "/api/before", params=f"photo={name}")
        assert status == 404
    for path in ("/static/../studio.py", "/static/index.html/../../studio.py", "/../../etc/passwd"):
        assert served.call("GET", path)[0] == 404
    (photo.parent / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    for folder in ("../", "/tmp", "elsewhere", "elsewhere/deeper"):
        status, payload, _ = served.call("POST", "/api/save", {"photo": "street.png", "hints": [], "folder": folder})
        assert status == 403 and "inside" in json.loads(payload)["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scans", "secret.png"]


def test_folder_mode_lists_its_photos_but_not_outputs_or_links_out(photo, tmp_path):
    (photo.parent / "sub").mkdir()
    cv2.imwrite(str(photo.parent / "sub" / "porch.jpg"), two_regions(60, 80))
    outside = tmp_path / "private.png"
    cv2.imwrite(str(outside), two_regions(20, 20))
    (photo.parent / "link.png").symlink_to(outside)
    running = Served(photo.parent)
    try:
        assert running.studio.state()["photos"] == ["street.png", "sub/porch.jpg"]
        status, _, _ = running.call("POST", "/api/save", {"photo": "sub/porch.jpg", "hints": []})
        assert status == 200 and (photo.parent / "sub" / "porch_color.jpg").is_file()
        assert running.call("GET", "/api/thumb", params="photo=link.png")[0] == 404
    finally:
        running.close()
    assert Served(photo.parent).studio.state()["photos"] == ["street.png", "sub/porch.jpg"]  # its output is not a photo


def test_bad_uploads_get_a_message_and_a_log_line_and_the_server_goes_on(served):
    png = cv2.imencode(".png", two_regions(8, 8))[1].tobytes()
    wrong_size = json.dumps({"format": "colorize-hints", "version": 1, "width": 10, "height": 10, "hint_size": 5, "hints": []})
    for body, status_expected, words in ((png, 422, "not a hints file (not JSON)"),
                                         (b'{"hints": []}', 422, "not a colorize hints file"),
                                         (wrong_size.encode(), 422, "made for a 10x10 image, not this 160x120 photo")):
        status, payload, _ = served.call("POST", "/api/load-hints", body, params="photo=street.png")
        assert status == status_expected and words in json.loads(payload)["error"]
    # a huge upload is refused from its Content-Length, unread
    for path, words in (("/api/load-hints", "over the 1 MB limit"), ("/api/reference", "over the 50 MB limit")):
        connection = http.client.HTTPConnection(studio.HOST, served.port, timeout=30)
        connection.putrequest("POST", f"{path}?token={served.studio.token}&photo=street.png", skip_host=True)
        connection.putheader("Host", f"127.0.0.1:{served.port}")
        connection.putheader("Content-Length", str(2 * 10**9))
        connection.endheaders()
        connection.send(b"x" * 1000)
        response = connection.getresponse()
        assert response.status == 413 and words in json.loads(response.read())["error"]
        connection.close()
    assert sum("refused POST /api/load-hints" in line for line in served.lines) == 4
    # references: not an image, a bomb, a gray photo, a truncated one: a message each, nothing kept
    truncated = cv2.imencode(".jpg", coloured_scene())[1].tobytes()[:600]
    for body, status_expected, words in ((b'{"not": "an image"}', 422, "not an image"),
                                         (png_declaring(30000, 30000), 413, "900 megapixels, over the 50 MP limit"),
                                         (cv2.imencode(".png", two_regions())[1].tobytes(), 422, "gray"),
                                         (truncated, 422, "scene.jpg")):
        status, payload, _ = served.call("POST", "/api/reference", body, params="photo=street.png&name=scene.jpg")
        assert status == status_expected and words in json.loads(payload)["error"], payload
    assert not list(served.studio.root.glob("*.ref-*"))
    assert sum("refused POST /api/reference" in line for line in served.lines) == 5
    assert served.call("GET", "/api/state")[0] == 200


# -- the CLI ---------------------------------------------------------------------------------------------

def test_colorize_hints_reads_a_hints_file_and_names_what_is_wrong_with_one(photo, tmp_path):
    document = {"format": "colorize-hints", "version": 1, "width": 160, "height": 120, "hint_size": 5,
                "hints": [{"x": 40, "y": 60, "color": BLUE}]}
    good = tmp_path / "good.hints.json"
    good.write_text(json.dumps(document))
    made = invoke(photo, "--hints", good, "-o", tmp_path / "a.png")
    assert made.exit_code == 0, made.output
    same = invoke(photo, "--hint", f"40,60,{BLUE}", "-o", tmp_path / "b.png")
    assert np.array_equal(cv2.imread(str(tmp_path / "a.png")), cv2.imread(str(tmp_path / "b.png")))
    for content, words in (("{oops", "not valid JSON"), (json.dumps({**document, "width": 99}), "made for a 99x120 image"),
                           (json.dumps({**document, "hints": [{"x": 1}]}), "needs whole \"x\", \"y\" and a \"color\"")):
        bad = tmp_path / "bad.hints.json"
        bad.write_text(content)
        result = invoke(photo, "--hints", bad, "-o", tmp_path / "c.png")
        assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output
    assert same.exit_code == 0


def test_studio_refuses_what_it_cannot_serve_in_one_line(tmp_path, served, photo):
    for target, words in ((tmp_path / "missing.png", "no such file or folder"), (tmp_path / "empty", "no photos"),
                          (photo.with_name("notes.txt"), "not a photo")):
        if target.name == "empty":
            target.mkdir()
        if target.suffix == ".txt":
            target.write_text("x")
        result = invoke("studio", target, "--no-browser")
        assert result.exit_code == 2 and words in result.output
    result = invoke("studio", photo, "--no-browser", "--port", served.port)
    assert result.exit_code == 2 and f"port {served.port} is in use" in result.output


def test_a_broken_hints_file_beside_the_photo_does_not_stop_it_opening(served, photo):
    photo.with_name("street.hints.json").write_text("{broken")
    status, payload, _ = served.call("GET", "/api/photo", params="photo=street.png")
    info = json.loads(payload)
    assert status == 200 and info["saved"] is None and "not a hints file (not JSON)" in info["saved_error"]


def test_the_command_serves_its_address_and_stops_cleanly_on_ctrl_c(photo):
    env = {**os.environ, "PYTHONPATH": str(Path(studio.__file__).parent.parent)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "colorize_cli", "studio", str(photo), "--no-browser"],
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stderr.readline()
        assert "serving" in line and "http://127.0.0.1:" in line, line
        url = line.split("at ", 1)[1].split()[0]
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/?token={token}")
        page = connection.getresponse()
        assert page.status == 200 and token in page.read().decode()
        print(f"`colorize studio` served its page {time.perf_counter() - started:.2f} s after the command")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        rest = process.stderr.read()
        assert "stopped" in rest and "Traceback" not in rest
    finally:
        if process.poll() is None:
            process.kill()


# -- the page in a real browser --------------------------------------------------------------------------

def chromium():
    return next((path for path in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if path), None)


REGION_MEAN = """([x0, y0, x1, y1]) => {  // mean RGB of the result picture over a box in photo pixels
  const img = document.getElementById('after');
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext('2d');
  context.drawImage(img, 0, 0);
  const sx = img.naturalWidth / %d, sy = img.naturalHeight / %d;
  const data = context.getImageData(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy).data;
  const sum = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) { sum[0] += data[i]; sum[1] += data[i + 1]; sum[2] += data[i + 2]; }
  return sum.map((v) => v / (data.length / 4));
}"""


def wait_for(page, selector, attribute, value, timeout=30):
    """Poll an attribute from here: Playwright's wait_for_function evaluates a string in the page, which the
    page's Content-Security-Policy (no eval) rightly forbids, and the test runs with that policy on."""
    deadline = time.monotonic() + timeout
    while page.get_attribute(selector, attribute) != value:
        assert time.monotonic() < deadline, f"{selector} {attribute} is {page.get_attribute(selector, attribute)!r}, not {value!r}"
        page.wait_for_timeout(20)


@pytest.mark.slow  # ~20 s: a browser and six renders of a 1 MP photo
def test_the_page_in_chromium_places_a_hint_recolours_its_region_and_saves_what_the_cli_makes(tmp_path, monkeypatch):
    browser_path = chromium()
    if browser_path is None:
        pytest.skip("no Chromium here (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    width, height = 1200, 840  # 1 MP: the size the ~1 s target is for
    root = tmp_path / "scans"
    root.mkdir()
    photo = root / "street.png"
    cv2.imwrite(str(photo), two_regions(height, width))
    running = Served(photo)
    left, right = [100, 200, 500, 700], [700, 200, 1100, 700]
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{running.port}/?token={running.studio.token}")
            wait_for(page, "#after", "data-version", "1")
            region = REGION_MEAN % (width, height)
            before_left, before_right = page.evaluate(region, left), page.evaluate(region, right)
            page.eval_on_selector("#color", f"(el) => {{ el.value = '{BLUE}'; el.dispatchEvent(new Event('input')); }}")
            box = page.locator("#after").bounding_box()

            def at(x, y):  # photo pixel -> page coordinates
                return box["x"] + box["width"] * (x + 0.5) / width, box["y"] + box["height"] * (y + 0.5) / height

            page.mouse.click(*at(300, 450))
            wait_for(page, "#after", "data-version", "2")
            click_to_picture = int(page.get_attribute("#after", "data-ms"))
            after_left, after_right = page.evaluate(region, left), page.evaluate(region, right)
            assert page.locator(".dot").count() == 1
            # blue where the dot is, nothing across the edge
            assert after_left[2] - after_left[0] > before_left[2] - before_left[0] + 20
            assert max(abs(a - b) for a, b in zip(after_right, before_right)) < 2
            # drag the dot; a second one in the other region, then undone: that region is automatic again
            page.mouse.move(*at(300, 450))
            page.mouse.down()
            page.mouse.move(*at(350, 500), steps=5)
            page.mouse.up()
            wait_for(page, "#after", "data-version", "3")
            page.eval_on_selector("#color", "(el) => { el.value = '#c03020'; }")
            page.mouse.click(*at(900, 450))
            wait_for(page, "#after", "data-version", "4")
            red_right = page.evaluate(region, right)
            assert red_right[0] - red_right[2] > before_right[0] - before_right[2] + 20
            page.keyboard.press("Control+z")
            wait_for(page, "#after", "data-version", "5")
            assert page.locator(".dot").count() == 1
            assert max(abs(a - b) for a, b in zip(page.evaluate(region, right), before_right)) < 2
            # a reference photo chosen in its drop zone recolours the region it matches (red on the right)
            cv2.imwrite(str(tmp_path / "scene.png"), coloured_scene(height, width))
            page.set_input_files("#reference-file", str(tmp_path / "scene.png"))
            wait_for(page, "#after", "data-version", "6")
            referenced_right = page.evaluate(region, right)
            assert referenced_right[0] - referenced_right[2] > before_right[0] - before_right[2] + 10
            assert page.inner_text("#reference-name").startswith("using street.ref-")
            page.click("#save")
            wait_for(page, "#saved", "data-output", "street_color.png")
            command = page.inner_text("#saved code")
            page.screenshot(path=str(tmp_path / "studio.png"))
            assert not errors, errors
            browser.close()
    finally:
        running.close()
    print(f"click to updated picture, 1 MP ({width}x{height}): {click_to_picture} ms; screenshot {tmp_path / 'studio.png'}")
    saved = json.loads((root / "street.hints.json").read_text())
    assert len(saved["hints"]) == 1 and saved["hints"][0]["color"] == BLUE
    x, y = saved["hints"][0]["x"], saved["hints"][0]["y"]
    assert (x, y) == (350, 500)  # where the dot was dragged to
    monkeypatch.chdir(root)
    assert command == f"colorize street.png --hints street.hints.json --reference {saved['reference']}"
    made = invoke(*shlex.split(command)[1:], "-o", "cli.png")
    assert made.exit_code == 0, made.output
    assert np.array_equal(cv2.imread("street_color.png", cv2.IMREAD_UNCHANGED), cv2.imread("cli.png", cv2.IMREAD_UNCHANGED))
