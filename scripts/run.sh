#!/usr/bin/env bash
# The main job, end to end: set up; train the shipped recipe (experiments/official_shipped.toml:
# MobileNetV2-0.35, its top 10 blocks fine-tuned with the base at 0.3 x the learning rate and focal loss, on
# augmented 224 px images with sharpness jitter, at seeds 10-12) on
# the official split, whose test patients come from another cohort, and measure its
# cue-conflicting validation (experiments/cue_conflict_validation.md); train the seed CNN study
# (experiments/default.toml: two settings compared on validation, early stopping, the chosen
# one at three seeds) on the pooled patient-disjoint split; quantize the first seed of each to
# int8, validate each blob (infer-core bit for bit against the integer reference, and against
# the float model) and write the report. About 60 minutes on a 2-core CPU.
#
#   DATA=<chest_xray folder>   default ../shared/data/chest_xray
#   PROFILE=quick|full         default quick (full: the seed's 180 px, meant for a GPU)
#
# Outputs: runs/shipped/ and runs/default-<profile>/ (run folders), runs/models/ (blobs +
# cards), runs/report-default/ (REPORT.md, results.json, figures/). Finished runs are kept, so
# a second call only redoes what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-../shared/data/chest_xray}"
PROFILE="${PROFILE:-quick}"
STUDY="runs/default-$PROFILE"
scripts/setup.sh
cargo build --release -p trainer
trainer=target/release/trainer

"$trainer" ablation experiments/official_shipped.toml --out runs/shipped --data "$DATA"
for seed in 10 11 12; do
  [ -f "runs/shipped/shipped-s$seed/cue_validation.json" ] ||
    "$trainer" cue-validation --run "runs/shipped/shipped-s$seed" --data "$DATA"
done
"$trainer" suite experiments/default.toml --profile "$PROFILE" --out "$STUDY" --data "$DATA"
# The headline models: the recipe's first seed, and the seed CNN's chosen setting's first seed.
recipe=runs/shipped/shipped-s10
cnn="$(ls -d "$STUDY"/seeds-cnn-pooled-*-s1 | head -n 1)"
runs=("$recipe" "$cnn")
# Both with quantize's defaults (per-layer bias correction, the outputs' gain undone); the
# recipe's with each activation range clipped for the least 8-bit rounding error too
# (--ranges mse), the setting experiments/int8_fidelity.md's seventh addendum shipped for it.
"$trainer" quantize --run "$recipe" --out runs/models --data "$DATA" --ranges mse
"$trainer" quantize --run "$cnn" --out runs/models --data "$DATA"
for run in "${runs[@]}"; do
  "$trainer" validate-int8 --model "runs/models/$(basename "$run").int8.postcard" --data "$DATA"
done
"$trainer" report --study "$STUDY" --models runs/models --out runs/report-default --ablation runs/shipped
echo "done: runs/report-default/REPORT.md; int8 blobs runs/models/{$(basename "${runs[0]}"),$(basename "${runs[1]}")}.int8.postcard"
