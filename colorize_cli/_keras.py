"""Import Keras with the TensorFlow backend and TensorFlow's log noise turned down.

Only modules that need a network import this, so `colorize --help` never loads TensorFlow."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

try:
    import tensorflow as tf  # noqa: E402
    import keras  # noqa: E402
except ImportError as exc:  # the light install: colorizing runs on LiteRT, training needs the [train] extra
    from colorize_cli.errors import MissingDependencyError

    raise MissingDependencyError(f"training, export and .keras models need TensorFlow and Keras (no module {exc.name or 'tensorflow'!r}): "
                                 "pip install 'colorize-cli[train]' (in a source checkout: pip install -e '.[train]')") from None

# Python-side TF warnings (e.g. "triggered tf.function retracing" when `eval --model all` compiles one
# graph per model, as intended) are noise to a CLI user; errors still show
tf.get_logger().setLevel("ERROR")

__all__ = ["keras", "tf"]
