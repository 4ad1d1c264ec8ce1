#!/usr/bin/env python3
"""The seed CNN in its own toolchain: Keras → TFLiteConverter int8 post-training quantization →
fixtures for `tflite-import/tests/keras_seed_cnn.rs` (run once, by hand; CI needs no TensorFlow:
what this writes is committed).

1. Builds the seed report's scratch CNN in Keras exactly as `shared/SEED.md` describes it (and as
   `trainer/src/models/seed_cnn.rs` has it), at 90×90×1 instead of 180×180×1 to keep the fixtures
   small: six Conv2D 3×3 'same' + ReLU (32, 64, 64, 64, 128, 256 filters), each followed by
   MaxPooling2D 2×2 stride 2 'same', Dropout 0.1 after the third conv and 0.2 after the fifth and
   sixth, Flatten (2·2·256 = 1,024 at 90 px: the pools give 45, 23, 12, 6, 3, 2), Dropout 0.2,
   Dense 1 sigmoid; 462,721 parameters (464,001 at 180 px).
2. Trains it briefly (Adam lr 1e-3, batch 20; 3 epochs on 1,200 official-train
   X-rays: 600 normal, 300 bacterial, 300 viral), pixels / 255 as the seed.
3. Converts it with `tf.lite.TFLiteConverter.from_keras_model`, `Optimize.DEFAULT`, a
   representative dataset of 200 other official-train X-rays, `TFLITE_BUILTINS_INT8` only and
   int8 input and output: full integer quantization.
4. Runs six official-test X-rays (two normal, two bacterial, two viral) through the `.tflite` in
   TFLite's interpreter with the reference kernels (`OpResolverType.BUILTIN_REF`) and writes, to
   `tflite-import/tests/fixtures/keras_seed_cnn/`:
     model.tflite          the converted model
     <case>.input.i8       the 90·90 int8 input exactly as fed to TFLite (pixel − 128: the input
                           is quantized with scale 1/255, zero point −128)
     <case>.output.i8      TFLite's int8 output (after LOGISTIC; p = (q + 128) / 256)
     cases.csv             case, source image, kind, Keras float p, TFLite's FULLY_CONNECTED
                           output (the LOGISTIC's input), TFLite's output, its p
     operators.txt         the operators with their tensors' shapes and quantization
   The expected bytes come from tensorflow-cpu 2.14's `tf.lite.Interpreter`; the script checks
   that tflite-runtime 2.14.0's interpreter (what `scripts/tflite_fixtures.py` and
   `scripts/tflite_op_fixtures.py` use) gives the same bytes.

Images are read from `../shared/data/chest_xray` (Kaggle layout), decoded with Pillow to one
channel and resized to 90×90 (bilinear); no image is copied into the repository except the six
90×90 input tensors above. Training is seeded (`tf.keras.utils.set_random_seed(42)`, op
determinism on), but a rerun on another machine may still give other weights: the fixtures are
whatever this wrote once, together.

Setup (Python 3.11, about 2 minutes on 2 CPU cores):

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install "tensorflow-cpu==2.14.*" "numpy<2" pillow tflite-runtime==2.14.0
    /tmp/tfvenv/bin/python scripts/keras_seed_cnn_tflite.py
"""
import csv
import pathlib
import random
import sys

import numpy as np
import tensorflow as tf
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "chest_xray"
OUT = ROOT / "tflite-import" / "tests" / "fixtures" / "keras_seed_cnn"
SIZE = 90
FILTERS = [32, 64, 64, 64, 128, 256]
DROPOUT_AFTER_CONV = [0.0, 0.0, 0.1, 0.0, 0.2, 0.2]
DROPOUT_BEFORE_DENSE = 0.2
SEED = 42


def seed_cnn():
    """The seed's scratch CNN (SEED.md), at SIZE×SIZE×1."""
    layers = tf.keras.layers
    x = inputs = tf.keras.Input((SIZE, SIZE, 1), name="xray")
    for i, (filters, dropout) in enumerate(zip(FILTERS, DROPOUT_AFTER_CONV), start=1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
        x = layers.MaxPooling2D(2, strides=2, padding="same", name=f"pool{i}")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(DROPOUT_BEFORE_DENSE)(x)
    outputs = layers.Dense(1, activation="sigmoid", name="dense")(x)
    return tf.keras.Model(inputs, outputs, name="seed_cnn")


def kind(path):
    if path.parent.name == "NORMAL":
        return "normal"
    return "bacterial" if "_bacteria_" in path.name else "viral"


def files(split):
    """Every image of a split, sorted, by kind."""
    by_kind = {"normal": [], "bacterial": [], "viral": []}
    for p in sorted((DATA / split).glob("*/*.jpeg")):
        by_kind[kind(p)].append(p)
    return by_kind


def pixels(path):
    """SIZE×SIZE uint8 grey pixels."""
    img = Image.open(path).convert("L").resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def batch(paths):
    return np.stack([pixels(p) for p in paths])[..., None].astype(np.float32) / 255.0


def train(model, rng, train_files):
    chosen = rng.sample(train_files["normal"], 600) + rng.sample(train_files["bacterial"], 300)
    chosen += rng.sample(train_files["viral"], 300)
    rng.shuffle(chosen)
    x = batch(chosen)
    y = np.array([0.0 if kind(p) == "normal" else 1.0 for p in chosen], np.float32)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=20, epochs=3, shuffle=True, verbose=2)
    return set(chosen)


def convert(model, representative):
    def dataset():
        for p in representative:
            yield [batch([p])]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def reference_interpreter(tflite, interpreter, resolver_type):
    """The interpreter with the reference kernels, keeping every tensor."""
    it = interpreter(model_content=tflite, experimental_op_resolver_type=resolver_type.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    return it


def describe(it):
    """One line per operator: index, name, then each input / output tensor."""
    details = {t["index"]: t for t in it.get_tensor_details()}

    def tensor(i):
        t = details[i]
        q = t["quantization_parameters"]
        scales, zps = q["scales"], q["zero_points"]
        quant = "" if len(scales) == 0 else (
            f" scale {scales[0]:.9g} zp {zps[0]}" if len(scales) == 1 else f" per-channel ×{len(scales)}")
        return f"{t['name']} {t['dtype'].__name__}{list(t['shape'])}{quant}"

    lines = []
    for op in it._get_ops_details():
        ins = "; ".join(tensor(i) for i in op["inputs"] if i >= 0)
        outs = "; ".join(tensor(i) for i in op["outputs"])
        lines.append(f"{op['index']} {op['op_name']}: {ins} -> {outs}")
    return lines


def run_cases(it, cases):
    """(input bytes, FULLY_CONNECTED output, output) of each case."""
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    scale, zp = inp["quantization"]
    assert abs(scale - 1 / 255) < 1e-9 and zp == -128, (scale, zp)
    fc = next(op for op in it._get_ops_details() if op["op_name"] == "FULLY_CONNECTED")
    results = []
    for path in cases:
        # real = pixel / 255 quantized with scale 1/255, zero point −128: exactly pixel − 128.
        x = (pixels(path).astype(np.int16) - 128).astype(np.int8).reshape(inp["shape"])
        it.set_tensor(inp["index"], x)
        it.invoke()
        y = it.get_tensor(out["index"]).reshape(-1)
        logit = it.get_tensor(fc["outputs"][0]).reshape(-1)
        results.append((x.tobytes(), int(logit[0]), int(y[0])))
    return results


def main():
    tf.keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = random.Random(SEED)
    train_files = files("train")
    model = seed_cnn()
    model.summary(print_fn=lambda s: print(s, file=sys.stderr))
    assert model.count_params() == 462_721, model.count_params()
    used = train(model, rng, train_files)
    rest = [p for k in ("normal", "bacterial", "viral") for p in train_files[k] if p not in used]
    representative = rng.sample(rest, 200)
    tflite = convert(model, representative)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "model.tflite").write_bytes(tflite)

    test_files = files("test")
    cases = [p for k in ("normal", "bacterial", "viral") for p in rng.sample(test_files[k], 2)]
    it = reference_interpreter(tflite, tf.lite.Interpreter, tf.lite.experimental.OpResolverType)
    (OUT / "operators.txt").write_text("\n".join(describe(it)) + "\n")
    results = run_cases(it, cases)
    try:
        import tflite_runtime.interpreter as tflrt
        assert run_cases(reference_interpreter(tflite, tflrt.Interpreter, tflrt.OpResolverType), cases) == results
        print("tflite-runtime 2.14.0 gives the same bytes", file=sys.stderr)
    except ImportError:
        print("tflite-runtime not installed: not cross-checked", file=sys.stderr)

    keras_p = model.predict(batch(cases), verbose=0).reshape(-1)
    rows = [["case", "source", "kind", "keras_p", "tflite_fc_output", "tflite_output", "tflite_p"]]
    for i, (path, (x, logit, y), p) in enumerate(zip(cases, results, keras_p)):
        name = f"{i}_{kind(path)}"
        (OUT / f"{name}.input.i8").write_bytes(x)
        (OUT / f"{name}.output.i8").write_bytes(np.int8(y).tobytes())
        source = path.relative_to(DATA).as_posix()
        rows.append([name, source, kind(path), f"{p:.6f}", logit, y, f"{(y + 128) / 256:.6f}"])
        print(f"{name} {source}: keras {p:.4f}, tflite {(y + 128) / 256:.4f} (fc {logit}, out {y})",
              file=sys.stderr)
    with open(OUT / "cases.csv", "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    print(f"model.tflite: {len(tflite)} bytes, tensorflow {tf.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
