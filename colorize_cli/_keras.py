"""Import Keras with the TensorFlow backend and TensorFlow's log noise turned down.

Only modules that need a network import this, so `colorize --help` never loads TensorFlow."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

__all__ = ["keras", "tf"]
