"""The pretrained-encoder path: the TFLite weights reader, the semantic generator built on it, and the
semantic metric of `colorize eval --classifier`. Every TFLite file here is made in the test."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from colorize_cli import evaluate, networks, recognition, registry, tflite_weights
from colorize_cli._keras import keras, tf

layers = keras.layers


def to_tflite(model, path: Path, quantize: bool, per_channel: bool = True, input_shape=None) -> Path:
    """Convert a Keras model to TFLite: full-integer (uint8 in/out, calibrated on random data) or float."""
    with tempfile.TemporaryDirectory() as saved:
        model.export(saved, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantize:
            shape = (1, *model.input_shape[1:])
            rng = np.random.default_rng(0)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([rng.uniform(-1, 1, shape).astype(np.float32)] for _ in range(16))
            converter.inference_input_type = converter.inference_output_type = tf.uint8
            converter._experimental_disable_per_channel = not per_channel
        path.write_bytes(converter.convert())
    return path


def tiny_mobilenet(size: int = 64, seed: int = 0):
    """A MobileNetV2-shaped classifier: stem conv, four inverted-residual blocks with a stride-2 depthwise
    (strides 4..32), one stride-1 block with a residual add, a 1x1 conv, global pooling and a dense head."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(inputs)
    for channels in (8, 12, 16, 16):
        x = layers.Conv2D(channels * 3, 1, activation="relu6")(x)
        x = layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)
        x = layers.Conv2D(channels, 1)(x)
    y = layers.Conv2D(48, 1, activation="relu6")(x)
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
    x = layers.Add()([x, layers.Conv2D(16, 1)(y)])
    x = layers.Conv2D(32, 1, activation="relu6")(x)
    outputs = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    model = tiny_mobilenet()
    return model, to_tflite(model, tmp_path_factory.mktemp("enc") / "tiny.tflite", quantize=True)


def keras_weights(model, kind):
    return [layer.get_weights() for layer in model.layers if type(layer).__name__ == kind]


@pytest.mark.parametrize("per_channel", [True, False], ids=["per-channel", "per-tensor"])
def test_reader_returns_the_float_weights_of_a_quantized_model(tmp_path, per_channel):
    model = tiny_mobilenet(seed=1)
    path = to_tflite(model, tmp_path / "m.tflite", quantize=True, per_channel=per_channel)
    ops = tflite_weights.read_ops(path)
    for kind, tflite_kind in (("Conv2D", "CONV_2D"), ("DepthwiseConv2D", "DEPTHWISE_CONV_2D")):
        read = [op for op in ops if op.kind == tflite_kind]
        original = keras_weights(model, kind)
        assert len(read) == len(original)
        for op, (kernel, bias) in zip(read, original):
            assert op.kernel.shape == kernel.shape
            # int8 weights: at most half a quantization step off (per channel or per tensor)
            channel_axis = 2 if kind == "DepthwiseConv2D" else 3
            axes = tuple(a for a in range(4) if a != channel_axis) if per_channel else None
            step = np.abs(kernel).max(axis=axes, keepdims=True) / 127
            assert np.all(np.abs(op.kernel - kernel) <= 0.51 * step + 1e-6)
            assert np.allclose(op.bias, bias, atol=1e-3)
    strides = [op.strides for op in ops if op.kind == "DEPTHWISE_CONV_2D"]
    assert strides == [2, 2, 2, 2, 1]
    assert [op.activation for op in ops if op.kind == "CONV_2D"][:3] == ["relu6", "relu6", None]


def test_rebuilt_trunk_computes_what_the_interpreter_computes(tiny_encoder):
    model, path = tiny_encoder
    rebuilt = tflite_weights.classifier(path)
    images = np.random.default_rng(2).uniform(-1, 1, (4, 64, 64, 3)).astype(np.float32)
    logits = rebuilt.predict(images, verbose=0)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    expected = model.predict(images, verbose=0)
    cosine = (probabilities * expected).sum(1) / np.linalg.norm(probabilities, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() > 0.99
    assert (probabilities.argmax(1) == expected.argmax(1)).all()


def test_reader_refuses_what_is_not_a_tflite_file(tmp_path):
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(Exception, match="x.tflite"):
        tflite_weights.read_ops(bad)
    with pytest.raises(Exception, match="not found"):
        tflite_weights.read_ops(tmp_path / "missing.tflite")


def test_semantic_generator_shape_reload_and_frozen_encoder(tiny_encoder, tmp_path):
    _, path = tiny_encoder
    generator = networks.semantic_generator(64, 4, encoder=str(path))
    assert generator.input_shape == (None, 64, 64, 1) and generator.output_shape == (None, 64, 64, 2)
    encoder = networks.encoder_layers(generator)
    read = [op for op in tflite_weights.trunk_ops(tflite_weights.read_ops(path)) if op.kernel is not None]
    assert len(encoder) == len(read) and not any(layer.trainable for layer in encoder)

    # one training step moves the decoder, never the frozen encoder
    decoder_before = [w.numpy().copy() for w in generator.trainable_weights]
    optimizer = keras.optimizers.Adam(1e-2)
    l = np.random.default_rng(3).uniform(-1, 1, (2, 64, 64, 1)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(generator(l, training=True) - 0.3))
    optimizer.apply(tape.gradient(loss, generator.trainable_weights), generator.trainable_weights)
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(decoder_before, generator.trainable_weights))
    for layer, op in zip(encoder, read):
        assert np.array_equal(layer.get_weights()[0], op.kernel)
        assert np.array_equal(layer.get_weights()[1], op.bias)

    saved = tmp_path / "semantic.keras"
    generator.save(saved)
    reloaded = registry.load_keras_model(saved)  # safe mode: no Lambda, only registered layers
    assert np.allclose(reloaded.predict(l, verbose=0), generator.predict(l, verbose=0), atol=1e-5)


@pytest.mark.parametrize("objective", ["gan", "lsgan", "ebgan", "wgan", "wgan-gp"])
def test_every_objective_trains_on_the_semantic_generator(tiny_encoder, objective):
    """The zoo fine-tunes every objective from one L1-pretrained semantic generator: two steps each, finite
    losses, the decoder moves and the frozen encoder does not."""
    from colorize_cli import train

    _, path = tiny_encoder
    base = registry.recipe_card(objective)
    options = {"pull_away": 0.1} if objective == "ebgan" else {}
    card = registry.ModelCard(**{**base.__dict__, "arch": "semantic", "input_size": 64, "width": 4, "d_width": 4,
                                 "arch_options": {"encoder": str(path), "train_encoder_from": 0},
                                 "objective_options": {**base.objective_options, **options}})
    model = train.build_gan(card, total_steps=2, decay_fraction=0.5)
    encoder = networks.encoder_layers(model.generator)
    frozen = [w.copy() for layer in encoder for w in layer.get_weights()]
    decoder = [w.numpy().copy() for w in model.generator.trainable_weights]
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)
    ab = rng.uniform(-0.5, 0.5, (4, 64, 64, 2)).astype(np.float32)
    history = model.fit(l, ab, batch_size=2, epochs=1, verbose=0).history
    assert np.isfinite(history["g_loss"]).all() and np.isfinite(history["d_loss"]).all()
    assert any(not np.allclose(a, w.numpy()) for a, w in zip(decoder, model.generator.trainable_weights))
    assert all(np.array_equal(a, b) for a, b in zip(frozen, [w for layer in encoder for w in layer.get_weights()]))


def test_semantic_generator_unfreezes_from_a_stride(tiny_encoder):
    _, path = tiny_encoder
    generator = networks.semantic_generator(64, 4, encoder=str(path), train_encoder_from=16)
    strides = {layer.name: 64 // layer.output.shape[1] for layer in networks.encoder_layers(generator)}
    trainable = {layer.name for layer in networks.encoder_layers(generator) if layer.trainable}
    assert trainable and trainable == {name for name, s in strides.items() if s >= 16}


def test_encoder_sees_the_srgb_gray_of_cie_lightness():
    """L = 50 is sRGB gray 119 (not 128); L = 0 and 100 are black and white."""
    lightness = np.array([0.0, 50.0, 100.0], np.float32).reshape(1, 1, 3, 1)
    gray = keras.ops.convert_to_numpy(networks.LightnessToGray()(lightness / 50.0 - 1.0))
    assert gray.shape == (1, 1, 3, 3)
    assert np.allclose((gray[0, 0, :, 0] + 1) * 127.5, [0.0, 118.8, 255.0], atol=0.6)


# -- the semantic metric ---------------------------------------------------------------------------

def colour_classifier(path: Path) -> Path:
    """A stub ImageNet-style classifier built in the test: its classes are 'red', 'green', 'blue' and
    seven weak ones, decided by the mean colour (float TFLite, x / 127.5 - 1 input, softmax output)."""
    inputs = keras.Input((32, 32, 3))
    dense = layers.Dense(10, activation="softmax")
    outputs = dense(layers.GlobalAveragePooling2D()(inputs))
    kernel = np.zeros((3, 10), np.float32)
    kernel[0, 0] = kernel[1, 1] = kernel[2, 2] = 8.0
    kernel[:, 3:] = np.linspace(-1, 1, 21, dtype=np.float32).reshape(3, 7)
    dense.set_weights([kernel, np.zeros(10, np.float32)])
    return to_tflite(keras.Model(inputs, outputs), path, quantize=False)


class TruthColorizer:
    """Returns each photo's own colours: the ideal colorizer."""

    name = "truth"

    def __init__(self, photos):
        self.photos = photos

    def run(self, jobs, load):
        for job in jobs:
            yield job, self.photos[job].image, None


def test_semantic_metric_scores_gray_and_true_colour(tmp_path):
    classifier = recognition.Classifier(colour_classifier(tmp_path / "clf.tflite"))
    red = np.zeros((40, 60, 3), np.uint8)
    red[..., 2] = 220  # BGR
    assert classifier.probabilities(red).argmax() == 0
    photos = [evaluate.Photo(Path(f"p{i}.png"), img, True) for i, img in enumerate([red, np.roll(red, 1, axis=2)])]
    result = evaluate.evaluate_photos("stub", photos, [TruthColorizer(photos)], classifier=classifier)
    means = result.means()
    assert means["truth"]["top5"] == 1.0 and means["truth"]["kl"] < 1e-3
    assert means[evaluate.GRAY]["kl"] > 0.1  # gray loses the evidence for the truth's class
    header, rows = evaluate.table_rows(result)
    assert "top-5" in header and "KL" in header


def test_agreement_and_kl():
    truth = np.array([0.7, 0.2, 0.1, 0, 0, 0, 0])
    assert recognition.agreement(truth, np.array([0.12, 0.3, 0.2, 0.15, 0.13, 0.05, 0.05]))  # 5th of 7
    assert not recognition.agreement(truth, np.array([0.06, 0.3, 0.2, 0.15, 0.13, 0.1, 0.06]))  # 6th
    assert recognition.kl_divergence(truth, truth) == pytest.approx(0.0, abs=1e-6)
    assert recognition.kl_divergence(truth, np.full(7, 1 / 7)) > 0.5
