#!/usr/bin/env python3
"""Which official-test normal images do the fine-tuned runs call pneumonia? A read of the test
split that chooses nothing (experiments/resolution_selection.md, third addendum's outcome).

Scans run folders (default: reports/*/*) for fine-tuned MobileNetV2 runs and ensembles on the
official protocol with all 624 test predictions, counts each run once (copies of a run in
several ablation folders have identical predictions), and prints how many of the normal
images are called pneumonia, at each run's own threshold, by at least 90% of the runs and by
none, and the mean count per run.

    scripts/official_normals_missed.py [run folder ...]
"""

import csv
import glob
import hashlib
import json
import sys


def runs(folders):
    seen = set()
    for d in folders:
        try:
            m = json.load(open(f"{d}/metrics.json"))
            text = open(f"{d}/test_predictions.csv", "rb").read()
        except OSError:
            continue
        c = m["config"]
        if c.get("protocol") != "official" or c.get("model") != "mobilenet_v2" or c.get("mode") != "finetune":
            continue
        rows = list(csv.DictReader(text.decode().splitlines()))
        digest = hashlib.sha256(text).hexdigest()
        if len(rows) != 624 or digest in seen:
            continue
        seen.add(digest)
        t = m["evaluation"]["threshold"]
        yield {r["path"].split("/")[-1]: float(r["p_pneumonia"]) >= t for r in rows if r["label"] == "0"}


def main(folders):
    called = list(runs(folders))
    if not called:
        sys.exit("no fine-tuned official run with 624 test predictions")
    normals = called[0].keys()
    count = {f: sum(r[f] for r in called) for f in normals}
    n = len(called)
    print(f"{n} runs, {len(normals)} normal images")
    print(f"called pneumonia by at least 90% of the runs: {sum(c >= 0.9 * n for c in count.values())}")
    print(f"called pneumonia by none: {sum(c == 0 for c in count.values())}")
    print(f"mean per run: {sum(count.values()) / n:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(glob.glob("reports/*/*")))
