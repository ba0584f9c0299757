"""Check the TFLite weights reader on the real pretrained file: the rebuilt float Keras classifier
against the TFLite interpreter running the quantized original.

    .venv/bin/python recipes/check_encoder.py [../shared/pretrained/mobilenet_v2_1.0_224_quant.tflite]

For scikit-image's colour samples, and their gray copies (what the colorizer's encoder sees), it prints
the cosine between the two class distributions and both top-5 lists. The file is read from
../shared/pretrained/ and never copied into the repository.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorize_cli import recognition, tflite_weights  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "pretrained" / "mobilenet_v2_1.0_224_quant.tflite"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tflite", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--samples", nargs="+", default=["chelsea", "coffee", "astronaut", "rocket"])
    args = parser.parse_args(argv)
    from skimage import data

    labels_file = args.tflite.parent / "imagenet_labels.txt"
    labels = labels_file.read_text().splitlines() if labels_file.is_file() else None
    interpreter = recognition.Classifier(args.tflite)  # the quantized original, on the TFLite interpreter
    rebuilt = tflite_weights.classifier(args.tflite)  # our float rebuild
    print(f"{args.tflite.name}: {len(tflite_weights.read_ops(args.tflite))} ops, "
          f"{rebuilt.count_params() / 1e6:.2f} M parameters rebuilt as Keras layers")
    print("| photo | cosine | top-5 rebuilt (float Keras) | top-5 interpreter (int8) |")
    print("|---|---|---|---|")
    for name in args.samples:
        rgb = getattr(data, name)()
        for variant, bgr in (("", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)),
                             (" (gray)", cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2BGR))):
            x = interpreter._input(bgr)  # same crop and resize for both
            x = (x.astype(np.float32) - interpreter.input["quantization"][1]) * interpreter.input["quantization"][0] \
                if np.issubdtype(x.dtype, np.integer) else x
            logits = rebuilt.predict(x, verbose=0)[0]
            ours = np.exp(logits - logits.max())
            ours /= ours.sum()
            theirs = interpreter.probabilities(bgr)
            cosine = float(ours @ theirs / np.linalg.norm(ours) / np.linalg.norm(theirs))

            def top5(p):
                return ", ".join(f"{labels[i] if labels else i} {p[i]:.2f}" for i in np.argsort(-p)[:5])

            print(f"| {name}{variant} | {cosine:.4f} | {top5(ours)} | {top5(theirs)} |")


if __name__ == "__main__":
    main()
