#!/usr/bin/env python3
"""Oracle fixtures for infer-core's `Mean`, `Softmax`, `Logistic` and `AvgPool` layers, from
TFLite 2.14's reference kernels (`OpResolverType.BUILTIN_REF`).

Builds tiny one-op `.tflite` models by hand (an int8 MEAN over axes [1, 2], an int8 SOFTMAX over
the last axis, an int8 LOGISTIC, an int8 AVERAGE_POOL_2D), runs them on random and edge-case int8
inputs (the LOGISTIC on all 256 int8 values, shuffled, under each quantization), and writes every
case to `infer-core/tests/fixtures/tflite_ops/{mean,softmax,logistic,avg_pool}.txt`, one case per
line (each file's first line names the fields). `infer-core/tests/tflite_ops.rs` replays them
byte for byte (and `tflite-import/tests/avg_pool.rs` imports the AVERAGE_POOL_2D models, rebuilt
from the same fields).

Not run by CI. To regenerate (needs tflite-runtime 2.14.0, numpy, flatbuffers and the `tflite`
schema package):

    python3 -m venv /tmp/tflvenv
    /tmp/tflvenv/bin/pip install tflite-runtime==2.14.0 numpy flatbuffers tflite
    /tmp/tflvenv/bin/python scripts/tflite_op_fixtures.py

The output is deterministic (fixed seed).
"""
import math
import os
import pathlib
import struct
import sys
import tempfile

import flatbuffers
import numpy as np
import tflite
from tflite_runtime.interpreter import Interpreter, OpResolverType

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "infer-core" / "tests" / "fixtures" / "tflite_ops"
INT8, INT32 = tflite.TensorType.INT8, tflite.TensorType.INT32


def f32(x):
    """x rounded to f32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_hex(x):
    """The f32 bit pattern of x, as 8 hex digits (exact round trip into Rust)."""
    return struct.pack(">f", x).hex()


def _ivec(b, start, values):
    start(b, len(values))
    for v in reversed(values):
        b.PrependInt32(v)
    return b.EndVector()


def _quant(b, scale, zp):
    tflite.QuantizationParametersStartScaleVector(b, 1)
    b.PrependFloat32(scale)
    scales = b.EndVector()
    tflite.QuantizationParametersStartZeroPointVector(b, 1)
    b.PrependInt64(zp)
    zps = b.EndVector()
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scales)
    tflite.QuantizationParametersAddZeroPoint(b, zps)
    return tflite.QuantizationParametersEnd(b)


def _tensor(b, name, shape, ttype, buffer, quant=None):
    name = b.CreateString(name)
    shape = _ivec(b, tflite.TensorStartShapeVector, shape)
    q = _quant(b, *quant) if quant else None
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    tflite.TensorAddType(b, ttype)
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, name)
    if q is not None:
        tflite.TensorAddQuantization(b, q)
    return tflite.TensorEnd(b)


def one_op_model(opcode, options_type, options_fn, tensors, inputs, outputs):
    """A model with one subgraph running one builtin op. `tensors` are (name, shape, type,
    quant or None, const bytes or None); buffer 0 is the empty sentinel."""
    b = flatbuffers.Builder(1024)
    buf_data = [None] + [t[4] for t in tensors if t[4] is not None]
    buffers = []
    for data in buf_data:
        vec = b.CreateByteVector(data) if data is not None else None
        tflite.BufferStart(b)
        if vec is not None:
            tflite.BufferAddData(b, vec)
        buffers.append(tflite.BufferEnd(b))
    tensor_offsets, next_buf = [], 1
    for name, shape, ttype, quant, data in tensors:
        idx = 0
        if data is not None:
            idx, next_buf = next_buf, next_buf + 1
        tensor_offsets.append(_tensor(b, name, shape, ttype, idx, quant))
    options = options_fn(b) if options_fn else None
    op_in = _ivec(b, tflite.OperatorStartInputsVector, list(inputs))
    op_out = _ivec(b, tflite.OperatorStartOutputsVector, list(outputs))
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, op_in)
    tflite.OperatorAddOutputs(b, op_out)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, options_type)
        tflite.OperatorAddBuiltinOptions(b, options)
    op = tflite.OperatorEnd(b)

    tflite.SubGraphStartTensorsVector(b, len(tensor_offsets))
    for t in reversed(tensor_offsets):
        b.PrependUOffsetTRelative(t)
    tvec = b.EndVector()
    sg_in = _ivec(b, tflite.SubGraphStartInputsVector, [inputs[0]])
    sg_out = _ivec(b, tflite.SubGraphStartOutputsVector, list(outputs))
    tflite.SubGraphStartOperatorsVector(b, 1)
    b.PrependUOffsetTRelative(op)
    ops = b.EndVector()
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tvec)
    tflite.SubGraphAddInputs(b, sg_in)
    tflite.SubGraphAddOutputs(b, sg_out)
    tflite.SubGraphAddOperators(b, ops)
    sg = tflite.SubGraphEnd(b)

    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(opcode, 127))
    tflite.OperatorCodeAddBuiltinCode(b, opcode)
    tflite.OperatorCodeAddVersion(b, 2)
    code = tflite.OperatorCodeEnd(b)

    tflite.ModelStartOperatorCodesVector(b, 1)
    b.PrependUOffsetTRelative(code)
    codes = b.EndVector()
    tflite.ModelStartSubgraphsVector(b, 1)
    b.PrependUOffsetTRelative(sg)
    sgs = b.EndVector()
    tflite.ModelStartBuffersVector(b, len(buffers))
    for x in reversed(buffers):
        b.PrependUOffsetTRelative(x)
    bufs = b.EndVector()
    desc = b.CreateString("infer-core oracle fixture")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, codes)
    tflite.ModelAddSubgraphs(b, sgs)
    tflite.ModelAddBuffers(b, bufs)
    tflite.ModelAddDescription(b, desc)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def run(model_bytes, inputs):
    """Run the model with the reference kernels on each int8 input array."""
    return run_shaped(model_bytes, inputs)[1]


def run_shaped(model_bytes, inputs):
    """As `run`, also returning the output shape TFLite's Prepare computed."""
    with tempfile.NamedTemporaryFile(suffix=".tflite", delete=False) as f:
        f.write(model_bytes)
        path = f.name
    try:
        it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
        it.allocate_tensors()
        i_det, o_det = it.get_input_details()[0], it.get_output_details()[0]
        outs = []
        for x in inputs:
            it.set_tensor(i_det["index"], x.reshape(i_det["shape"]))
            it.invoke()
            outs.append(it.get_tensor(o_det["index"]).copy())
        return [int(d) for d in o_det["shape"]], outs
    finally:
        os.unlink(path)


def mean_model(h, w, c, s_in, zp_in, s_out, zp_out, keep_dims):
    out_shape = [1, 1, 1, c] if keep_dims else [1, c]
    tensors = [
        ("input", [1, h, w, c], INT8, (s_in, zp_in), None),
        ("axis", [2], INT32, None, np.array([1, 2], "<i4").tobytes()),
        ("output", out_shape, INT8, (s_out, zp_out), None),
    ]

    def options(b):
        tflite.ReducerOptionsStart(b)
        tflite.ReducerOptionsAddKeepDims(b, keep_dims)
        return tflite.ReducerOptionsEnd(b)

    return one_op_model(tflite.BuiltinOperator.MEAN, tflite.BuiltinOptions.ReducerOptions, options,
                        tensors, (0, 1), (2,))


def softmax_model(shape, s_in, zp_in, beta):
    tensors = [
        ("input", shape, INT8, (s_in, zp_in), None),
        ("output", shape, INT8, (1.0 / 256, -128), None),
    ]

    def options(b):
        tflite.SoftmaxOptionsStart(b)
        tflite.SoftmaxOptionsAddBeta(b, beta)
        return tflite.SoftmaxOptionsEnd(b)

    return one_op_model(tflite.BuiltinOperator.SOFTMAX, tflite.BuiltinOptions.SoftmaxOptions, options,
                        tensors, (0,), (1,))


def logistic_model(shape, s_in, zp_in, zp_out):
    """LOGISTIC has no options; TFLite requires the int8 output scale to be exactly 1/256."""
    tensors = [
        ("input", shape, INT8, (s_in, zp_in), None),
        ("output", shape, INT8, (1.0 / 256, zp_out), None),
    ]
    return one_op_model(tflite.BuiltinOperator.LOGISTIC, tflite.BuiltinOptions.NONE, None,
                        tensors, (0,), (1,))


def avg_pool_model(h, w, c, kh, kw, sh, sw, padding, act, scale, zp):
    """AVERAGE_POOL_2D with Pool2DOptions; input and output quantized alike (TFLite's Prepare
    checks that for int8 in debug builds)."""
    tensors = [
        ("input", [1, h, w, c], INT8, (scale, zp), None),
        ("output", [1, 1, 1, c], INT8, (scale, zp), None),  # resized by TFLite's Prepare
    ]

    def options(b):
        tflite.Pool2DOptionsStart(b)
        tflite.Pool2DOptionsAddPadding(b, getattr(tflite.Padding, padding))
        tflite.Pool2DOptionsAddStrideW(b, sw)
        tflite.Pool2DOptionsAddStrideH(b, sh)
        tflite.Pool2DOptionsAddFilterWidth(b, kw)
        tflite.Pool2DOptionsAddFilterHeight(b, kh)
        tflite.Pool2DOptionsAddFusedActivationFunction(b, getattr(tflite.ActivationFunctionType, act))
        return tflite.Pool2DOptionsEnd(b)

    return one_op_model(tflite.BuiltinOperator.AVERAGE_POOL_2D, tflite.BuiltinOptions.Pool2DOptions,
                        options, tensors, (0,), (1,))


def edge_inputs(rng, n, n_random, narrow=True):
    """`n_random` uniform int8 inputs plus the edge cases: all equal, one very large among equal
    small values, all −128, all 127, 60 % of the values at 127 (the softmax sum of exps is then
    large), and (if `narrow`) values spread over 120..127 only."""
    def rand(k, lo=-128, hi=128):
        return rng.integers(lo, hi, k, dtype=np.int64).astype(np.int8)

    xs = [rand(n) for _ in range(n_random)]
    xs.append(np.full(n, 37, np.int8))
    one = np.full(n, -100, np.int8)
    one[rng.integers(0, n)] = 127
    xs.append(one)
    xs.append(np.full(n, -128, np.int8))
    xs.append(np.full(n, 127, np.int8))
    top = n * 6 // 10
    xs.append(np.concatenate([rand(n - top), np.full(top, 127, np.int8)]))
    if narrow:
        xs.append(rand(n, 120, 128))
    return xs


def hexs(a):
    """int8 values as hex, runs of 4 or more equal bytes written `hh*count`, pieces joined by
    '.' (e.g. `0a0b.7f*600.80`)."""
    data = a.astype(np.int8).tobytes()
    pieces, plain, i = [], "", 0
    while i < len(data):
        j = i
        while j < len(data) and data[j] == data[i]:
            j += 1
        if j - i >= 4:
            if plain:
                pieces.append(plain)
                plain = ""
            pieces.append(f"{data[i]:02x}*{j - i}")
        else:
            plain += data[i:j].hex()
        i = j
    if plain:
        pieces.append(plain)
    return ".".join(pieces)


def quantize_multiplier(real):
    """TFLite's QuantizeMultiplier (frexp, round half away from zero, carry, flush)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    m = int(math.floor(abs(q) * 2.0**31 + 0.5)) * (1 if q > 0 else -1)
    if m == 2**31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return m, shift


def softmax_prepare(beta, s_in):
    """TFLite 2.14's SoftmaxPrepare for int8 with the reference kernel: PreprocessSoftmaxScaling
    and CalculateInputRadius with kScaledDiffIntegerBits = 5, all in double."""
    real = min(float(beta) * float(s_in) * float(1 << 26), float((1 << 31) - 1))
    m, shift = quantize_multiplier(real)
    radius = math.floor(1.0 * 31 * (1 << 26) / (1 << shift))
    return m, shift, -radius


# (s_in, zp_in, s_out, zp_out): Google's MobileNetV2 MEAN, equal quantization, scale ratios
# below and above one, a ratio that leaves a left shift after folding, and one so small that
# TFLite clamps the folding shift to 31 + shift.
MEAN_QUANTS = [
    (0.0235294122248888, -128, 0.019077831879258156, -128),
    (0.05, 3, 0.05, 3),
    (0.05, -20, 0.05, 7),
    (0.031, 10, 0.0402, -5),
    (0.1, 0, 0.013, 100),
    (0.0173, -77, 0.25, 12),
    (0.9, 5, 0.004, -3),
    (1e-3, 0, 1e-3 * 2.0**28, 0),
    (0.02, 0, 0.02 * 0.700001, -128),
]
# (h, w, c, keep_dims, quant indices)
MEAN_SHAPES = [
    (7, 7, 32, True, [0, 3, 8]),
    (7, 7, 8, True, [1, 2, 4, 5, 6]),
    (1, 1, 8, True, [0, 4, 6, 7]),
    (3, 5, 16, True, [0, 3, 5, 7]),
    (14, 14, 4, True, [0, 2, 7, 8]),
    (2, 3, 32, False, [1, 4, 6]),
    (1, 7, 3, True, [3, 5, 8]),
    (10, 10, 2, False, [0, 2, 7]),
    (16, 16, 1, True, [4, 6]),
    (5, 4, 9, True, [0, 1, 2, 3, 4, 5, 6, 7, 8]),
]


def mean_cases(rng):
    lines = []
    for h, w, c, keep, quant_ids in MEAN_SHAPES:
        for qi in quant_ids:
            s_in, zp_in, s_out, zp_out = (f32(MEAN_QUANTS[qi][0]), MEAN_QUANTS[qi][1],
                                          f32(MEAN_QUANTS[qi][2]), MEAN_QUANTS[qi][3])
            model = mean_model(h, w, c, s_in, zp_in, s_out, zp_out, keep)
            xs = edge_inputs(rng, h * w * c, 1, narrow=False)
            for x, y in zip(xs, run(model, xs)):
                lines.append(f"{h} {w} {c} {int(keep)} {f32_hex(s_in)} {zp_in} {f32_hex(s_out)} "
                             f"{zp_out} {hexs(x)} {hexs(y.ravel())}")
    return lines


# (tflite shape, s_in, zp_in, beta, random inputs)
SOFTMAX_CASES = [
    ([1, 1001], 0.06336501985788345, -53, 1.0, 3),
    ([1, 1001], 0.1, 0, 1.0, 1),
    ([1, 1, 1, 1001], 0.02, 17, 0.5, 1),
    ([1, 1], 0.1, 0, 1.0, 2),
    ([1, 2], 0.0625, -10, 1.0, 3),
    ([1, 10], 0.0625, -10, 1.0, 4),
    ([1, 100], 0.01, 20, 1.0, 3),
    ([1, 1, 1, 5], 0.5, 0, 1.0, 4),
    ([1, 1, 1, 64], 1.0, 5, 1.0, 3),
    ([1, 1, 1, 64], 40.0, 0, 1.0, 2),
    ([1, 37], 0.2, -1, 2.0, 3),
    ([1, 37], 0.05, 3, 0.3, 3),
    ([1, 300], 0.001, 0, 1.0, 2),
    ([1, 600], 0.08, -128, 1.0, 1),
    ([1, 2, 3, 10], 0.0634, -53, 1.0, 3),
    ([1, 1, 1, 16], 0.123, 44, 1.7, 3),
    ([1, 1, 1, 256], 0.03, 0, 1.0, 2),
    # Sums of exps of 2^28 and more: gemmlowp's RoundingDivideByPOT gets an exponent of 32..34.
    ([1, 1500], 0.06336501985788345, -53, 1.0, 0),
    ([1, 3000], 0.06336501985788345, -53, 1.0, 0),
    ([1, 4095], 0.06336501985788345, -53, 1.0, 0),
    ([1, 4095], 0.25, 0, 1.0, 0),
]


def softmax_cases(rng):
    lines = []
    for shape, s_in, zp_in, beta, n_random in SOFTMAX_CASES:
        s_in, beta = f32(s_in), f32(beta)
        h, w = (1, 1) if len(shape) == 2 else (shape[1], shape[2])
        c = shape[-1]
        m, shift, diff_min = softmax_prepare(beta, s_in)
        model = softmax_model(shape, s_in, zp_in, beta)
        xs = edge_inputs(rng, h * w * c, n_random, narrow=c <= 1001)
        for x, y in zip(xs, run(model, xs)):
            lines.append(f"{h} {w} {c} {f32_hex(beta)} {f32_hex(s_in)} {zp_in} {m} {shift} "
                         f"{diff_min} {hexs(x)} {hexs(y.ravel())}")
    return lines


# (s_in, zp_in, zp_out): the Keras seed CNN's LOGISTIC input (its FULLY_CONNECTED output), scales
# from 1e−4 (every output near 1/2) to 50 (every output saturated), extreme zero points, and
# output zero points other than −128 (TFLite's reference kernel accepts any).
LOGISTIC_QUANTS = [
    (0.0495837517, 21, -128),
    (0.1, 0, -128),
    (0.0625, -10, -128),
    (1e-4, 0, -128),
    (1e-3, 127, -128),
    (0.02, -128, -128),
    (0.5, 0, -128),
    (1.0, 5, -128),
    (8.0, -128, -128),
    (50.0, 127, -128),
    (0.1, 3, 0),
    (0.1, 3, -100),
    (0.03, -60, 127),
]


def logistic_cases(rng):
    quants = list(LOGISTIC_QUANTS)
    for _ in range(47):
        zp_out = -128 if rng.random() < 0.8 else int(rng.integers(-128, 128))
        quants.append((10 ** rng.uniform(-3.5, 1.5), int(rng.integers(-128, 128)), zp_out))
    lines = []
    for i, (s_in, zp_in, zp_out) in enumerate(quants):
        s_in = f32(s_in)
        shape = [1, 256] if i % 2 == 0 else [1, 4, 8, 8]
        x = rng.permutation(np.arange(-128, 128)).astype(np.int8)
        (y,) = run(logistic_model(shape, s_in, zp_in, zp_out), [x])
        lines.append(f"{f32_hex(s_in)} {zp_in} {zp_out} {hexs(x)} {hexs(y.ravel())}")
    return lines


# (scale, zero point), input = output: the seed CNN's input, MobileNet-like, a RELU6 top inside
# int8 (zp + round(6 / scale) < 127), a zero point of 127 (RELU / RELU6 give a constant 127),
# one of −128, a top of exactly 126 (6 / (6/254) = 254 → −128 + 254).
AVG_QUANTS = [
    (0.05, 3),
    (0.0235294122248888, -128),
    (0.1, 0),
    (0.5, 60),
    (0.02, -20),
    (0.01, -100),
    (0.0625, 127),
    (6.0 / 254.0, -128),
    (0.03, -128),
    (0.04, 10),
]
# (h, w, c, kh, kw, sh, sw, padding, activation, quant index): odd sizes with clipped edge
# windows, non-square kernels and strides, strides above the kernel (rows never read), a kernel
# larger than the image, a 1×1 image under a 3×3 'SAME' window.
AVG_CASES = [
    (5, 5, 2, 2, 2, 2, 2, "SAME", "NONE", 0),
    (7, 6, 3, 3, 3, 1, 1, "SAME", "NONE", 1),
    (7, 7, 2, 3, 3, 2, 2, "SAME", "RELU", 2),
    (9, 5, 1, 4, 4, 3, 3, "SAME", "RELU6", 3),
    (6, 9, 2, 2, 3, 1, 2, "SAME", "NONE", 4),
    (8, 7, 2, 3, 1, 2, 1, "VALID", "RELU", 5),
    (5, 8, 3, 1, 4, 1, 3, "SAME", "RELU6", 6),
    (11, 4, 1, 4, 2, 3, 2, "VALID", "NONE", 0),
    (4, 4, 4, 4, 4, 1, 1, "SAME", "NONE", 1),
    (3, 3, 2, 4, 4, 3, 3, "SAME", "NONE", 2),
    (1, 1, 3, 3, 3, 1, 1, "SAME", "RELU", 3),
    (10, 10, 1, 3, 3, 3, 3, "VALID", "RELU6", 4),
    (6, 5, 2, 1, 1, 2, 3, "VALID", "NONE", 5),
    (6, 5, 2, 1, 1, 3, 2, "SAME", "RELU", 6),
    (9, 9, 2, 4, 3, 2, 3, "SAME", "RELU6", 7),
    (5, 7, 2, 3, 2, 3, 1, "VALID", "RELU", 8),
    (12, 3, 3, 2, 2, 2, 2, "SAME", "NONE", 9),
    (7, 5, 1, 2, 4, 1, 1, "SAME", "RELU6", 0),
    (8, 8, 2, 3, 3, 1, 1, "SAME", "RELU6", 8),
    (6, 6, 1, 2, 2, 2, 2, "VALID", "RELU6", 9),
]


def avg_pool_cases(rng):
    cases = list(AVG_CASES)
    while len(cases) < 40:
        kh, kw, sh, sw = (int(v) for v in rng.integers(1, [5, 5, 4, 4]))
        padding = "SAME" if rng.random() < 0.5 else "VALID"
        lo_h, lo_w = (kh, kw) if padding == "VALID" else (1, 1)
        h, w, c = int(rng.integers(lo_h, 11)), int(rng.integers(lo_w, 11)), int(rng.integers(1, 4))
        act = ["NONE", "RELU", "RELU6"][int(rng.integers(0, 3))]
        cases.append((h, w, c, kh, kw, sh, sw, padding, act, int(rng.integers(0, len(AVG_QUANTS)))))
    lines = []
    for i, (h, w, c, kh, kw, sh, sw, padding, act, qi) in enumerate(cases):
        scale, zp = f32(AVG_QUANTS[qi][0]), AVG_QUANTS[qi][1]
        n = h * w * c
        xs = [rng.integers(-128, 128, n, dtype=np.int64).astype(np.int8)]
        # Rounding ties of both signs (values in −1..1), or the extremes only.
        small = rng.integers(-1, 2, n) if i % 2 == 0 else rng.choice([-128, 127], n)
        xs.append(small.astype(np.int8))
        shape, ys = run_shaped(avg_pool_model(h, w, c, kh, kw, sh, sw, padding, act, scale, zp), xs)
        assert shape[0] == 1 and shape[3] == c, shape
        for x, y in zip(xs, ys):
            lines.append(f"{h} {w} {c} {kh} {kw} {sh} {sw} {padding} {act} {f32_hex(scale)} {zp} "
                         f"{shape[1]} {shape[2]} {hexs(x)} {hexs(y.ravel())}")
    return lines


def main():
    rng = np.random.default_rng(20240614)
    OUT.mkdir(parents=True, exist_ok=True)
    header = {
        "mean": "# h w c keep_dims s_in(f32 bits) zp_in s_out(f32 bits) zp_out input(hex i8) "
                "tflite_output(hex i8)",
        "softmax": "# h w c beta(f32 bits) s_in(f32 bits) zp_in input_multiplier input_left_shift "
                   "diff_min (python recomputation of SoftmaxPrepare) input(hex i8) "
                   "tflite_output(hex i8)",
        "avg_pool": "# h w c kh kw sh sw padding activation scale(f32 bits) zero_point (input = "
                    "output) out_h out_w (TFLite's) input(hex i8) tflite_output(hex i8)",
        "logistic": "# s_in(f32 bits) zp_in zp_out (output scale 1/256) input(hex i8: all 256 values, "
                    "shuffled) tflite_output(hex i8)",
    }
    cases = [("mean", mean_cases(rng)), ("softmax", softmax_cases(rng))]
    # Its own generator: the mean and softmax cases stay what they were.
    cases.append(("logistic", logistic_cases(np.random.default_rng(20261128))))
    cases.append(("avg_pool", avg_pool_cases(np.random.default_rng(20261129))))
    for name, lines in cases:
        text = "\n".join([header[name], "# generated by scripts/tflite_op_fixtures.py from "
                          "tflite-runtime 2.14.0, OpResolverType.BUILTIN_REF"] + lines) + "\n"
        (OUT / f"{name}.txt").write_text(text)
        print(f"{name}: {len(lines)} cases, {len(text)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
