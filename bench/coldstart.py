"""Cold start: what one `colorize` call costs in a fresh process, LiteRT vs TensorFlow, measured in one run.

    .venv/bin/python bench/coldstart.py [--model NAME] [--runs 5]

- one photo: `colorize photo.png -o out.png` on a 512x512 gray PNG, wall time from process start to exit
  (median of --runs, after one unmeasured run so that the files are in the page cache), with
  `--backend litert` and `--backend tf`;
- `--help`: the time until its first byte reaches the terminal (median of --runs).

Each run is a new interpreter, as when a script calls `colorize` once per file. PYTHONDONTWRITEBYTECODE is
removed from the child's environment so that it runs from compiled bytecode, as an installed package does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli import measure, registry  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=registry.DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print(measure.cold_start_table(args.model, args.runs), flush=True)


if __name__ == "__main__":
    main()
