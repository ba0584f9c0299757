"""Peak memory and time for one very large scan (default 12000x9000 gray JPEG), colorized by the CLI.

    .venv/bin/python bench/big_scan.py [--width 12000 --height 9000] [--model lsgan]
"""

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from skimage import data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=12000)
    parser.add_argument("--height", type=int, default=9000)
    parser.add_argument("--model", default="lsgan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scan = Path(tmp) / "scan.jpg"
        cv2.imwrite(str(scan), cv2.resize(data.camera(), (args.width, args.height), interpolation=cv2.INTER_CUBIC),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        subprocess.run([sys.executable, "-c", "import colorize_cli.pipeline, colorize_cli._keras"], check=True)  # TensorFlow alone: the RSS baseline
        base_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "colorize_cli", str(scan), "-m", args.model], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        out = cv2.imread(str(scan.with_name("scan_color.jpg")))
        megapixels = args.width * args.height / 1e6
        print(f"{args.width}x{args.height} ({megapixels:.0f} MP) gray JPEG -> colour JPEG {out.shape[1]}x{out.shape[0]}: "
              f"{seconds:.1f} s, peak RSS {peak / 1024:.0f} MiB (an idle process with TensorFlow loaded: {base_rss / 1024:.0f} MiB; "
              f"one full-resolution float32 plane is {megapixels * 4:.0f} MB, the 8-bit colour output {megapixels * 3:.0f} MB)")


if __name__ == "__main__":
    main()
