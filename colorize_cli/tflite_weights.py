"""Read a TFLite model's convolution trunk as float Keras layers: the pretrained encoder's source.

A quantized TFLite file (such as TensorFlow's hosted int8 MobileNetV2) stores each CONV_2D,
DEPTHWISE_CONV_2D and FULLY_CONNECTED weight as integers with a scale and zero point, per tensor or
per output channel, and batch norm already folded into int32 biases (bias scale = input scale x
weight scale, stored on the bias tensor). Dequantizing, `(q - zero_point) * scale`, gives back the
float weights the network learned (quantization-aware training learns on that grid).

`read_ops` walks the graph in execution order; `build_trunk` rebuilds the part that runs before the
first op it does not know (the classifier's pooling) as ordinary Keras layers: Conv2D,
DepthwiseConv2D, ReLU, Add, ZeroPadding2D. No Lambda layers, so the models that contain it load
in Keras safe mode, and its weights are plain float32 variables a trainer can fine-tune.

TensorFlow's flatbuffer reader is used (training time only; inference never needs this module).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorize_cli.errors import ColorizeError

# TFLite enums (schema.fbs): tensor types, fused activations, padding
_NUMPY_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}
_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}
_PADDING = {0: "same", 1: "valid"}
# ops that only change the number format: the float rebuild passes their input through
_FORMAT_OPS = {"QUANTIZE", "DEQUANTIZE"}


@dataclass
class Op:
    """One op of the graph, in float: `kernel` in Keras layout (Conv2D (H, W, in, out); DepthwiseConv2D
    (H, W, in, multiplier); Dense (in, out)), `inputs`/`outputs` are tensor indices."""

    kind: str
    inputs: list[int]
    outputs: list[int]
    kernel: np.ndarray | None = None
    bias: np.ndarray | None = None
    strides: int = 1
    padding: str = "same"
    activation: str | None = None
    paddings: list | None = None  # PAD: ((top, bottom), (left, right))
    shapes: dict = field(default_factory=dict)  # tensor index -> shape (batch dimension included)


def dequantize(tensor, buffer: bytes) -> np.ndarray:
    """A constant tensor as float32: per-tensor or per-channel `(q - zero_point) * scale`."""
    dtype = _NUMPY_TYPES.get(tensor.type)
    if dtype is None:
        raise ColorizeError(f"unsupported TFLite tensor type {tensor.type} in {tensor.name!r}")
    values = np.frombuffer(bytes(buffer), dtype=dtype).reshape(tuple(tensor.shape))
    q = tensor.quantization
    if values.dtype in (np.float32, np.float16) or q is None or q.scale is None or len(q.scale) == 0:
        return values.astype(np.float32)
    scale = np.asarray(q.scale, np.float64)
    zero = np.asarray(q.zeroPoint if q.zeroPoint is not None else np.zeros_like(scale), np.float64)
    if scale.size > 1:  # per channel along `quantizedDimension`
        shape = [1] * values.ndim
        shape[q.quantizedDimension] = scale.size
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((values.astype(np.float64) - zero) * scale).astype(np.float32)


def read_ops(path: str | Path) -> list[Op]:
    """Every op of the first subgraph, in execution order, with float weights for the ones that have them."""
    try:
        from tensorflow.lite.python import schema_py_generated as schema
        from tensorflow.lite.tools import flatbuffer_utils
    except ImportError:
        raise ColorizeError("reading a TFLite encoder needs TensorFlow: pip install 'colorize-cli[train]'") from None
    path = Path(path)
    if not path.is_file():
        raise ColorizeError(f"{path}: encoder file not found; pass the TFLite model with --encoder")
    try:
        model = flatbuffer_utils.read_model(str(path))
    except Exception as exc:  # the flatbuffer reader raises whatever its parser hits
        raise ColorizeError(f"{path}: not a TFLite model ({type(exc).__name__}); pass a .tflite file") from None
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    graph = model.subgraphs[0]

    def constant(index):
        tensor = graph.tensors[index]
        return dequantize(tensor, model.buffers[tensor.buffer].data)

    ops = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), str(code.builtinCode))
        inputs, outputs = [int(i) for i in op.inputs], [int(i) for i in op.outputs]
        item = Op(kind, inputs, outputs, shapes={i: tuple(int(d) for d in graph.tensors[i].shape) for i in inputs + outputs if i >= 0})
        options = op.builtinOptions
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            kernel = constant(inputs[1])
            if kind == "CONV_2D":  # (out, H, W, in) -> (H, W, in, out)
                item.kernel = kernel.transpose(1, 2, 3, 0)
            else:  # (1, H, W, in * multiplier) -> (H, W, in, multiplier)
                multiplier = options.depthMultiplier or 1
                _, h, w, channels = kernel.shape
                item.kernel = kernel.reshape(h, w, channels // multiplier, multiplier)
            item.bias = constant(inputs[2]) if len(inputs) > 2 and inputs[2] >= 0 else None
            item.strides = int(options.strideH)
            if options.strideH != options.strideW or max(options.dilationHFactor, options.dilationWFactor) != 1:
                raise ColorizeError(f"{path}: {kind} with unequal strides or dilation is not supported")
            item.padding = _PADDING[options.padding]
        elif kind == "FULLY_CONNECTED":
            item.kernel = constant(inputs[1]).T
            item.bias = constant(inputs[2]) if len(inputs) > 2 and inputs[2] >= 0 else None
        elif kind == "PAD":
            item.paddings = constant(inputs[1]).astype(int).tolist()[1:3]
        if options is not None and hasattr(options, "fusedActivationFunction"):
            if options.fusedActivationFunction not in _ACTIVATIONS:
                raise ColorizeError(f"{path}: fused activation {options.fusedActivationFunction} is not supported")
            item.activation = _ACTIVATIONS[options.fusedActivationFunction]
        ops.append(item)
    return ops


def trunk_ops(ops: list[Op]) -> list[Op]:
    """The leading ops that `build_trunk` can rebuild: everything before the first other op
    (in a classifier, the global pooling), format-only ops excepted."""
    supported = {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "PAD"} | _FORMAT_OPS
    trunk = []
    for op in ops:
        if op.kind not in supported:
            break
        trunk.append(op)
    if not any(op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D") for op in trunk):
        raise ColorizeError("the TFLite model does not start with convolutions: not a usable encoder")
    return trunk


def build_trunk(x, ops: list[Op], prefix: str = "encoder", trainable: bool = False):
    """Apply the trunk's ops to Keras tensor `x` (float input in the model's own convention).

    Returns (output, taps): taps are the inputs of every stride-2 depthwise convolution (in MobileNetV2,
    the expanded ReLU6 tensors at strides 2, 4, 8 and 16) followed by the trunk's output, shallow to deep.
    Weights are set from the file; `trainable=False` freezes them."""
    from colorize_cli._keras import keras

    layers = keras.layers
    ops = trunk_ops(ops)
    tensors = {ops[0].inputs[0]: x}
    taps = []
    for i, op in enumerate(ops):
        source = tensors[op.inputs[0]]
        name = f"{prefix}_{i:02d}_{op.kind.lower()}"
        if op.kind in _FORMAT_OPS:
            out = source
        elif op.kind == "PAD":
            out = layers.ZeroPadding2D(tuple(tuple(p) for p in op.paddings), name=name)(source)
        elif op.kind == "ADD":
            out = layers.Add(name=name)([source, tensors[op.inputs[1]]])
        else:
            if op.kind == "DEPTHWISE_CONV_2D" and op.strides == 2:
                taps.append(source)
            if op.kind == "CONV_2D":
                h, w, _, filters = op.kernel.shape
                layer = layers.Conv2D(filters, (h, w), strides=op.strides, padding=op.padding,
                                      use_bias=op.bias is not None, name=name, trainable=trainable)
            else:
                h, w, _, multiplier = op.kernel.shape
                layer = layers.DepthwiseConv2D((h, w), strides=op.strides, padding=op.padding, depth_multiplier=multiplier,
                                               use_bias=op.bias is not None, name=name, trainable=trainable)
            out = layer(source)
            layer.set_weights([op.kernel] + ([op.bias] if op.bias is not None else []))
        if op.activation and op.kind not in _FORMAT_OPS:
            out = layers.ReLU(6.0 if op.activation == "relu6" else None, name=f"{name}_{op.activation}")(out)
        tensors[op.outputs[0]] = out
    return tensors[ops[-1].outputs[0]], taps + [tensors[ops[-1].outputs[0]]]


def classifier(path: str | Path):
    """The whole file as a float Keras classifier when its head is global average pooling then a fully
    connected layer or a 1x1 convolution (MobileNetV2's): float RGB in the file's convention -> logits.
    Used by the semantic metric of `colorize eval` and to check the reader against the interpreter."""
    from colorize_cli._keras import keras

    ops = read_ops(path)
    trunk = trunk_ops(ops)
    head = [op for op in ops[len(trunk):] if op.kind in ("FULLY_CONNECTED", "CONV_2D")]
    if not head or (head[0].kind == "CONV_2D" and head[0].kernel.shape[:2] != (1, 1)):
        raise ColorizeError(f"{path}: no classifier head (global pooling then a dense layer) after the convolutions")
    shape = trunk[0].shapes[trunk[0].inputs[0]][1:]
    inputs = keras.Input((None, None, shape[-1]))
    features, _ = build_trunk(inputs, ops, prefix="trunk")
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    kernel = head[0].kernel.reshape(-1, head[0].kernel.shape[-1])
    dense = keras.layers.Dense(kernel.shape[1], name="logits")
    logits = dense(pooled)
    dense.set_weights([kernel, head[0].bias if head[0].bias is not None else np.zeros(kernel.shape[1], np.float32)])
    return keras.Model(inputs, logits, name="classifier")
