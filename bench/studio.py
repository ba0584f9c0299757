"""`colorize studio`: start-up and click-to-picture times, measured in a real (headless) Chromium.

    .venv/bin/python bench/studio.py [--clicks N] [--screenshot docs/studio.jpg]

- start: `colorize studio PHOTO --no-browser` as a new process; seconds until its page answers, and
  until the page (loaded by Chromium at once) shows its first colorized picture;
- click: a hint clicked onto the 1 MP photo (the sample `camera.png` brought to 1024x1024) at --clicks
  places, each waited for: milliseconds from the click to the updated picture on screen, as the page
  measures it (`#after[data-ms]`: request, render, JPEG, decode), and the server's render alone.

Needs Chromium (Debian: `apt-get install -y chromium`) and playwright (the [test] extra).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
# hints a person would give the cameraman: (x, y) as fractions of the photo, colour
SCENE = [(0.15, 0.10, "#7aa6e0"), (0.89, 0.11, "#8fb4e4"), (0.40, 0.77, "#5f8f3a"), (0.89, 0.84, "#6f9a45"),
         (0.19, 0.56, "#2b3045"), (0.463, 0.295, "#d29a78"), (0.70, 0.45, "#7a8f4a"), (0.55, 0.50, "#9aa0a8")]


def wait_attribute(page, selector, attribute, value, timeout=60):
    deadline = time.monotonic() + timeout
    while page.get_attribute(selector, attribute) != value:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{selector} {attribute} never became {value!r}")
        page.wait_for_timeout(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=len(SCENE))
    parser.add_argument("--side", type=int, default=1024, help="the photo's side in pixels (1024: 1 MP)")
    parser.add_argument("--screenshot", type=Path, help="write the page at the end here (.jpg or .png)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        sys.exit("no Chromium: apt-get install -y chromium")
    folder = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    photo = folder / "camera.png"
    sample = cv2.imread(str(ROOT / "data/samples/camera.png"), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(photo), cv2.resize(sample, (args.side, args.side), interpolation=cv2.INTER_CUBIC))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "colorize_cli", "studio", str(photo), "--no-browser"],
                               stderr=subprocess.PIPE, text=True, env=env, cwd=folder)
    try:
        url = process.stderr.readline().split(" at ", 1)[1].split()[0]
        urllib.request.urlopen(url).read()
        served = time.perf_counter() - started
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page_started = time.perf_counter()
            page.goto(url)
            wait_attribute(page, "#after", "data-version", "1")
            first_picture = time.perf_counter() - page_started
            box = page.locator("#after").bounding_box()
            times, renders = [], []
            for index in range(args.clicks):
                x, y, colour = SCENE[index % len(SCENE)]
                page.eval_on_selector("#color", f"(el) => {{ el.value = '{colour}'; }}")
                page.mouse.click(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
                wait_attribute(page, "#after", "data-version", str(index + 2))
                times.append(int(page.get_attribute("#after", "data-ms")))
                renders.append(int(page.inner_text("#timing").split("render ")[1].split(" ")[0]))
            if args.screenshot:  # with the before/after divider a third of the way in
                page.eval_on_selector("#compare", "(el) => { el.value = '33'; el.dispatchEvent(new Event('input')); }")
                page.click("#save")
                wait_attribute(page, "#saved", "data-output", "camera_color.png")
                kind = "jpeg" if args.screenshot.suffix.lower() in (".jpg", ".jpeg") else "png"
                page.screenshot(path=str(args.screenshot), type=kind, **({"quality": 80} if kind == "jpeg" else {}))
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"photo {args.side}x{args.side} ({args.side * args.side / 1e6:.2f} MP), {os.cpu_count()} CPUs")
    print(f"start: page served {served:.2f} s after the command; first colorized picture {first_picture:.2f} s after loading the page")
    print(f"click -> updated picture ({args.clicks} hints, one more each time): median {statistics.median(times)} ms, "
          f"max {max(times)} ms; server render median {statistics.median(renders)} ms")
    print("  each: " + " ".join(map(str, times)) + " ms")


if __name__ == "__main__":
    main()
