"""Keras 3 network builders (functional API, width-parameterised).

Every generator maps a normalised L image (N, S, S, 1) to normalised ab (N, S, S, 2) in [-1, 1];
every discriminator takes the pair (L, ab). Builders are plain functions, looked up by name in
`BUILDERS`, so a card in the registry can say {"arch": "unet", "width": 16} and be rebuilt.
"""

from __future__ import annotations

import math

from colorize_cli._keras import keras

layers = keras.layers

BN_EPSILON = 1e-5  # the reference implementations use 1e-5, Keras defaults to 1e-3
BN_MOMENTUM = 0.9


# A new initializer per layer: a Keras 3 initializer fixes its seed when it is made, so one shared instance
# would give every layer of the same kernel shape the same starting weights, drawn from a seed taken at
# import (before `--seed`). Made at build time, each draws its seed from the seeded `random` module.
def normal_init():
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)  # DCGAN / pix2pix init


def gamma_init():
    return keras.initializers.RandomNormal(mean=1.0, stddev=0.02)


def _bn(name: str):
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, gamma_initializer=gamma_init(), name=name)


def _depth_for(input_size: int) -> int:
    depth = int(round(math.log2(input_size)))
    if 2**depth != input_size or depth < 5:
        raise ValueError(f"U-Net input size must be a power of two >= 32, got {input_size}")
    return depth


def unet_generator(input_size: int = 256, width: int = 64, dropout: float = 0.5, name: str = "generator",
                   levels: int | None = None):
    """pix2pix U-Net: log2(S) stride-2 k4 convs down to 1x1, mirrored transposed convs up, a skip
    from every encoder level, dropout in the three innermost decoder blocks, tanh output.

    At S=256 and width=64 this is pix2pix's `unet_256` (channels 64-128-256-512x5). `levels` fewer
    than log2(S) stops above 1x1: the same weights at a larger input (recipes/inference.py)."""
    depth = _depth_for(input_size) if levels is None else levels
    if not 2 <= depth <= _depth_for(input_size):
        raise ValueError(f"a {input_size}px U-Net has 2..{_depth_for(input_size)} levels, got {levels}")
    channels = [width * min(2**i, 8) for i in range(depth)]
    inputs = keras.Input((input_size, input_size, 1), name="l")
    x = inputs
    skips = []
    for i, ch in enumerate(channels):
        x = layers.Conv2D(ch, 4, strides=2, padding="same", use_bias=False, kernel_initializer=normal_init(), name=f"enc{i + 1}")(x)
        # no norm on the first layer (pix2pix) nor on the 1x1 bottleneck, where batch statistics
        # of a single pixel would zero the activations at batch size 1
        if 0 < i < depth - 1:
            x = _bn(f"enc{i + 1}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"enc{i + 1}_act")(x)
        skips.append(x)
    for i, ch in enumerate(reversed(channels[:-1])):
        x = layers.Conv2DTranspose(ch, 4, strides=2, padding="same", use_bias=False, kernel_initializer=normal_init(), name=f"dec{i + 1}")(x)
        x = _bn(f"dec{i + 1}_bn")(x)
        if i < 3 and dropout > 0:
            x = layers.Dropout(dropout, name=f"dec{i + 1}_drop")(x)
        x = layers.ReLU(name=f"dec{i + 1}_act")(x)
        x = layers.Concatenate(name=f"dec{i + 1}_skip")([x, skips[depth - 2 - i]])
    x = layers.Conv2DTranspose(2, 4, strides=2, padding="same", kernel_initializer=normal_init(), name="out")(x)
    outputs = layers.Activation("tanh", name="ab", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


def colorful_generator(input_size: int = 256, width: int = 64, name: str = "generator"):
    """Colorful Image Colorization trunk (Zhang et al. 2016, ECCV16 wiring: dilation 2 in blocks 5-6)
    adapted to regress ab: a 1x1 conv to 2 channels with tanh at 1/4 resolution, then bilinear x4
    inside the model. Each block ends in BatchNorm after its last ReLU, as in the original."""
    if input_size % 8:
        raise ValueError(f"colorful input size must be a multiple of 8, got {input_size}")
    w = width
    # (convs, channels, stride of last conv, dilation)
    blocks = [(2, w, 2, 1), (2, 2 * w, 2, 1), (3, 4 * w, 2, 1), (3, 8 * w, 1, 1),
              (3, 8 * w, 1, 2), (3, 8 * w, 1, 2), (3, 8 * w, 1, 1)]
    inputs = keras.Input((input_size, input_size, 1), name="l")
    x = inputs
    for b, (n, ch, stride, dilation) in enumerate(blocks, start=1):
        for j in range(1, n + 1):
            s = stride if j == n else 1
            x = layers.Conv2D(ch, 3, strides=s, padding="same", dilation_rate=dilation, activation="relu", name=f"conv{b}_{j}")(x)
        x = _bn(f"conv{b}_bn")(x)
    x = layers.Conv2DTranspose(4 * w, 4, strides=2, padding="same", activation="relu", name="conv8_1")(x)
    x = layers.Conv2D(4 * w, 3, padding="same", activation="relu", name="conv8_2")(x)
    x = layers.Conv2D(4 * w, 3, padding="same", activation="relu", name="conv8_3")(x)
    x = layers.Conv2D(2, 1, activation="tanh", name="ab_quarter")(x)
    outputs = layers.UpSampling2D(4, interpolation="bilinear", name="ab", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable("colorize")
class MinibatchStdDev(layers.Layer):
    """Minibatch discrimination, in the form of Karras et al.'s minibatch standard deviation (ProGAN):
    the standard deviation of each feature over the batch, averaged to one number per position and
    appended as a channel. A generator that collapses to the same colours for every photo gives the
    discriminator a low value to spot (Salimans et al.'s motivation, seed 004's "minibatch discrimination")."""

    def call(self, x):
        ops = keras.ops
        std = ops.sqrt(ops.var(x, axis=0, keepdims=True) + 1e-8)  # (1, H, W, C): across the batch
        spread = ops.mean(std, axis=-1, keepdims=True)  # (1, H, W, 1)
        return ops.concatenate([x, ops.broadcast_to(spread, (*ops.shape(x)[:-1], 1))], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)


def patch_discriminator(input_size: int = 256, width: int = 64, norm: str | None = "batch", name: str = "discriminator",
                        minibatch_stddev: bool = False):
    """70x70 PatchGAN conditioned on L: (L, ab) -> one raw score per overlapping 70x70 patch
    (30x30 for a 256 input). `norm`: "batch" (GAN/LSGAN), None (WGAN critic), "layer" (WGAN-GP:
    per-sample LayerNorm over H, W, C, because batch statistics break the per-sample penalty).
    `minibatch_stddev`: a `MinibatchStdDev` channel before the last two convolutions."""
    if norm not in ("batch", "layer", None):
        raise ValueError(f"norm must be 'batch', 'layer' or None, got {norm!r}")
    l_in = keras.Input((input_size, input_size, 1), name="l")
    ab_in = keras.Input((input_size, input_size, 2), name="ab")
    x = layers.Concatenate(name="l_ab")([l_in, ab_in])

    def normalize(tensor, tag):
        if norm == "batch":
            return _bn(f"{tag}_bn")(tensor)
        if norm == "layer":
            return layers.LayerNormalization(axis=[1, 2, 3], epsilon=BN_EPSILON, name=f"{tag}_ln")(tensor)
        return tensor

    for i, (ch, stride) in enumerate([(width, 2), (2 * width, 2), (4 * width, 2), (8 * width, 1)], start=1):
        if stride == 1:
            x = layers.ZeroPadding2D(1, name=f"c{i}_pad")(x)
        x = layers.Conv2D(ch, 4, strides=stride, padding="same" if stride == 2 else "valid",
                          use_bias=(i == 1 or norm is None), kernel_initializer=normal_init(), name=f"c{i}")(x)
        if i > 1:
            x = normalize(x, f"c{i}")
        x = layers.LeakyReLU(0.2, name=f"c{i}_act")(x)
        if minibatch_stddev and i == 3:
            x = MinibatchStdDev(name="minibatch_stddev")(x)
    x = layers.ZeroPadding2D(1, name="c5_pad")(x)
    outputs = layers.Conv2D(1, 4, padding="valid", kernel_initializer=normal_init(), name="score", dtype="float32")(x)
    return keras.Model([l_in, ab_in], outputs, name=name)


def energy_discriminator(input_size: int = 256, width: int = 64, conditional: bool = False, name: str = "discriminator"):
    """EBGAN auto-encoder discriminator: reconstructs ab (or, if `conditional`, sees [L, ab]);
    outputs (reconstruction, embedding). The energy is the reconstruction error; the embedding
    feeds the optional pull-away term. Four k4 s2 convs down, four transposed convs up, tanh."""
    l_in = keras.Input((input_size, input_size, 1), name="l")
    ab_in = keras.Input((input_size, input_size, 2), name="ab")
    x = layers.Concatenate(name="l_ab")([l_in, ab_in]) if conditional else ab_in
    for i, ch in enumerate([width, 2 * width, 4 * width, 8 * width], start=1):
        x = layers.Conv2D(ch, 4, strides=2, padding="same", use_bias=(i == 1), kernel_initializer=normal_init(), name=f"enc{i}")(x)
        if i > 1:
            x = _bn(f"enc{i}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"enc{i}_act")(x)
    embedding = x
    for i, ch in enumerate([4 * width, 2 * width, width], start=1):
        x = layers.Conv2DTranspose(ch, 4, strides=2, padding="same", use_bias=False, kernel_initializer=normal_init(), name=f"dec{i}")(x)
        x = _bn(f"dec{i}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"dec{i}_act")(x)
    x = layers.Conv2DTranspose(2, 4, strides=2, padding="same", kernel_initializer=normal_init(), name="dec_out")(x)
    reconstruction = layers.Activation("tanh", name="reconstruction", dtype="float32")(x)
    return keras.Model([l_in, ab_in], [reconstruction, embedding], name=name)


@keras.saving.register_keras_serializable("colorize")
class LightnessToGray(layers.Layer):
    """Normalised CIE L -> the sRGB gray an ImageNet encoder was trained on, as RGB in [-1, 1].

    L* is not sRGB: L = 50 is gray 119, not 128. Inverting the CIE lightness curve gives the luminance
    Y, and the sRGB curve gives the gray level a camera would have stored for it (R = G = B), so the
    encoder sees the photo as it saw ImageNet's, only without colour."""

    def __init__(self, l_scale: float = 50.0, l_offset: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.l_scale, self.l_offset = float(l_scale), float(l_offset)

    def call(self, l_norm):
        ops = keras.ops
        lightness = ops.clip((l_norm + self.l_offset) * self.l_scale, 0.0, 100.0)
        f = (lightness + 16.0) / 116.0
        luminance = ops.where(f > 6.0 / 29.0, f ** 3, (f - 4.0 / 29.0) * 3.0 * (6.0 / 29.0) ** 2)
        srgb = ops.where(luminance <= 0.0031308, 12.92 * luminance,
                         1.055 * ops.power(ops.maximum(luminance, 0.0031308), 1.0 / 2.4) - 0.055)
        return ops.repeat(srgb * 2.0 - 1.0, 3, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)

    def get_config(self):
        return {**super().get_config(), "l_scale": self.l_scale, "l_offset": self.l_offset}


def semantic_generator(input_size: int = 224, width: int = 16, encoder: str | None = None, train_encoder_from: int = 0,
                       name: str = "generator"):
    """An ImageNet-pretrained encoder with a U-Net decoder: L -> sRGB gray -> the encoder's trunk (read
    from the TFLite file `encoder` by `tflite_weights`, e.g. MobileNetV2, or taken with its weights from
    a semantic generator saved as `.keras`: `trunk_of`) -> taps at strides 2..32 ->
    bilinear x2, 1x1-reduced skip, 3x3 convs, back up to stride 2 -> tanh ab, bilinear x2 to full size.

    The encoder is frozen; `train_encoder_from` = s > 0 makes its layers from stride s on trainable
    (fine-tuning its upper blocks). Decoder channels: 8w, 4w, 2w, w at strides 16, 8, 4, 2."""
    from colorize_cli import tflite_weights

    if encoder is None:
        raise ValueError("the semantic generator needs --encoder: a TFLite classifier to take its trunk from")
    if input_size % 32:
        raise ValueError(f"semantic input size must be a multiple of 32, got {input_size}")
    inputs = keras.Input((input_size, input_size, 1), name="l")
    gray = LightnessToGray(name="gray_rgb")(inputs)
    if str(encoder).endswith(".keras"):  # another semantic generator's encoder: a bundled model carries its weights
        from colorize_cli import registry

        taps = trunk_of(gray, registry.load_keras_model(encoder))
    else:
        _, taps = tflite_weights.build_trunk(gray, tflite_weights.read_ops(encoder), prefix="encoder")
    if len(taps) != 5:
        raise ValueError(f"{encoder}: expected 4 stride-2 depthwise stages and an output (MobileNet-like), got {len(taps) - 1}")

    def conv(x, channels, kernel, tag):
        x = layers.Conv2D(channels, kernel, padding="same", use_bias=False, name=tag)(x)
        x = _bn(f"{tag}_bn")(x)
        return layers.ReLU(name=f"{tag}_act")(x)

    x = conv(taps[-1], 8 * width, 1, "dec32_reduce")
    for stride, tap, channels, convs in zip((16, 8, 4, 2), reversed(taps[:-1]), (8 * width, 4 * width, 2 * width, width), (2, 2, 1, 1)):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{stride}_up")(x)
        x = layers.Concatenate(name=f"dec{stride}_skip")([x, conv(tap, channels, 1, f"dec{stride}_tap")])
        for j in range(convs):
            x = conv(x, channels, 3, f"dec{stride}_conv{j + 1}")
    x = layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab_half")(x)
    outputs = layers.UpSampling2D(2, interpolation="bilinear", name="ab", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name=name)
    set_encoder_trainable(model, train_encoder_from)
    return model


def trunk_of(x, source) -> list:
    """The encoder of `source`, a semantic generator (e.g. a bundled .keras), rebuilt on the Keras tensor `x`
    (its sRGB gray) with the same layers, names and weights; returns the taps the decoder reads, as
    `tflite_weights.build_trunk` does. Layers are remade from their configs, less their dtype (the training's
    precision policy applies, as to a trunk read from TFLite), so any input size a multiple of 32 works."""
    names = {layer.name for layer in source.layers}
    if not {"gray_rgb", "dec32_reduce"} <= names:
        raise ValueError(f"{source.name}: not a semantic generator (no pretrained encoder inside); give --encoder a TFLite "
                         f"classifier or a semantic model's .keras")
    source_gray = source.get_layer("gray_rgb").output
    tensors = {id(source_gray): x}
    for layer in source.layers:  # topological order: a layer's inputs are mapped before it
        if not layer.name.startswith("encoder_"):
            continue
        inputs = [tensors[id(t)] for t in layer._inbound_nodes[0].input_tensors]
        clone = layer.__class__.from_config({k: v for k, v in layer.get_config().items() if k != "dtype"})
        tensors[id(layer.output)] = clone(inputs if len(inputs) > 1 else inputs[0])
        if layer.weights:
            clone.set_weights(layer.get_weights())
    # the decoder's inputs in `source`: the stride-2..16 taps, then the trunk's output
    reads = [source.get_layer(f"dec{stride}_tap").input for stride in (2, 4, 8, 16)] + [source.get_layer("dec32_reduce").input]
    return [tensors[id(tensor)] for tensor in reads]


def encoder_layers(model) -> list:
    """The pretrained trunk's layers with weights, in order (names start with `encoder_`)."""
    return [layer for layer in model.layers if layer.name.startswith("encoder_") and layer.weights]


def set_encoder_trainable(model, from_stride: int = 0) -> None:
    """Freeze the trunk, then unfreeze its layers whose output stride is >= `from_stride` (0: none)."""
    size = model.input_shape[1]
    for layer in encoder_layers(model):
        stride = size // layer.output.shape[1]
        layer.trainable = bool(from_stride) and stride >= from_stride


def in_float32(model):
    """`model` itself when every layer computes in float32, else a float32 copy with the same weights: a model
    trained under mixed bfloat16 keeps that policy in its layers, which the TFLite converter cannot take and
    which computes slower on CPUs without bfloat16 units. Its variables are float32 either way."""
    from colorize_cli._keras import keras

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def float32_layer(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    copy = keras.models.clone_model(model, clone_function=float32_layer)
    copy.set_weights(model.get_weights())
    for mine, theirs in zip(copy.layers, model.layers):
        mine.trainable = theirs.trainable
    return copy


GENERATORS = {"unet": unet_generator, "colorful": colorful_generator, "semantic": semantic_generator}


def build_generator(arch: str, **kwargs):
    if arch not in GENERATORS:
        raise ValueError(f"unknown generator architecture {arch!r}; known: {', '.join(GENERATORS)}")
    return GENERATORS[arch](**kwargs)
