#!/usr/bin/env python3
"""Expected outputs of TFLite's reference kernels for `tflite-import`'s tests (run once, by hand;
CI does not need TFLite: the outputs are committed).

For each photo in ../shared/weights/test_images: decode it with Pillow, convert to RGB, resize
to 224×224 (bilinear), feed the uint8 pixels to Google's tf2_mobilenet_v2_1.0_224_ptq.tflite
in TFLite 2.14's interpreter with the reference kernels (OpResolverType.BUILTIN_REF), and write
  <photo>.input.u8   the 224·224·3 uint8 input, exactly as fed (so the Rust test needs no
                     image resizing of its own),
  <photo>.output.u8  the 1001 uint8 outputs (after SOFTMAX and the final QUANTIZE),
and check the top-1 class against expected_top1.csv.

    python3 -m venv /tmp/tflvenv
    /tmp/tflvenv/bin/pip install tflite-runtime==2.14.0 "numpy<2" pillow
    /tmp/tflvenv/bin/python scripts/tflite_fixtures.py
"""
import csv
import pathlib

import numpy as np
from PIL import Image
from tflite_runtime.interpreter import Interpreter, OpResolverType

ROOT = pathlib.Path(__file__).resolve().parent.parent
WEIGHTS = ROOT.parent / "shared" / "weights"
MODEL = WEIGHTS / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
OUT = ROOT / "tflite-import" / "tests" / "fixtures" / "mobilenet_v2_1.0_224_ptq"


def main():
    it = Interpreter(model_path=str(MODEL), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    expected = {r["file"]: r for r in csv.DictReader(open(WEIGHTS / "test_images" / "expected_top1.csv"))}
    OUT.mkdir(parents=True, exist_ok=True)
    for name, row in sorted(expected.items()):
        img = Image.open(WEIGHTS / "test_images" / name).convert("RGB").resize((224, 224), Image.BILINEAR)
        x = np.asarray(img, dtype=np.uint8).reshape(inp["shape"])
        it.set_tensor(inp["index"], x)
        it.invoke()
        y = it.get_tensor(out["index"]).reshape(-1)
        stem = name.rsplit(".", 1)[0]
        (OUT / f"{stem}.input.u8").write_bytes(x.tobytes())
        (OUT / f"{stem}.output.u8").write_bytes(y.astype(np.uint8).tobytes())
        top1 = int(np.argmax(y))
        print(f"{name}: top-1 {top1} (expected {row['top1_index']}), p = {y[top1] / 256:.4f}")
        assert top1 == int(row["top1_index"]), name


if __name__ == "__main__":
    main()
