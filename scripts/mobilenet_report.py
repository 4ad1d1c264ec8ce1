#!/usr/bin/env python3
"""Copies the MobileNetV2 runs' metrics/history/plots into reports/mobilenet_v2/<run>/ and
prints the comparison table (markdown) built from their metrics.json."""
import json, shutil, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
out = root / "reports" / "mobilenet_v2"
rows = []
for run in sorted((root / "runs").glob("mobilenet_v2-*")):
    m = run / "metrics.json"
    if not m.is_file():
        continue
    dst = out / run.name
    dst.mkdir(parents=True, exist_ok=True)
    for f in ["metrics.json", "history.csv", "curves.svg", "pr_curve.svg"]:
        if (run / f).is_file():
            shutil.copy2(run / f, dst / f)
    j = json.loads(m.read_text())
    c, e, t = j["config"], j["evaluation"], j["training"]
    test = e["test"]["at_chosen_threshold"]
    fx = j.get("features")
    ips = t["mean_train_images_per_second"]
    mode = c["mode"] + (f" ({c['trainable_blocks']} blocks)" if c["mode"] == "finetune" else "")
    rows.append(
        f"| {c['width']} | {mode} | {c['protocol']} | {100*test['accuracy']:.2f}% | {test['f1']:.3f} "
        f"| {e['test']['roc_auc']:.4f} | {e['threshold']:.2f} | {100*e['test']['at_0_5']['accuracy']:.2f}% "
        f"| {t['epochs_run']} (best {t['best_epoch']}) | {t['seconds']:.0f} s | {j['provenance']['wall_seconds']:.0f} s "
        f"| {'features ' if fx else 'images '}{ips:.0f}/s | {j['provenance']['device']} ({j['provenance']['threads']} threads) "
        f"| [{run.name}]({run.name}/) |"
    )
print("| width | mode | protocol | test acc (val threshold) | test F1 | test AUC | threshold (val best F1) "
      "| test acc @0.5 | epochs | training time | wall time | train throughput | device | run |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
