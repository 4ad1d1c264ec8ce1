#!/usr/bin/env bash
# The main job, end to end: set up, train the default model (experiments/default.toml: the
# seed CNN, two settings compared on validation, early stopping, the chosen one at three
# seeds), evaluate it on the patient-disjoint test split, quantize it to int8, validate the
# int8 blob (infer-core bit for bit against the integer reference, and against the float
# model), and write the report. About 30 minutes on a 2-core CPU with the quick profile.
#
#   DATA=<chest_xray folder>   default ../shared/data/chest_xray
#   PROFILE=quick|full         default quick (full: the seed's 180 px, meant for a GPU)
#
# Outputs: runs/default-<profile>/ (run folders), runs/models/ (blob + card),
# runs/report-default/ (REPORT.md, results.json, figures/).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-../shared/data/chest_xray}"
PROFILE="${PROFILE:-quick}"
STUDY="runs/default-$PROFILE"
scripts/setup.sh
cargo build --release -p trainer
trainer=target/release/trainer

"$trainer" suite experiments/default.toml --profile "$PROFILE" --out "$STUDY" --data "$DATA"
# The headline model: the chosen setting's first seed.
run=$(ls -d "$STUDY"/seeds-cnn-pooled-*-s1 | head -n 1)
"$trainer" quantize --run "$run" --out runs/models --data "$DATA"
"$trainer" validate-int8 --model "runs/models/$(basename "$run").int8.postcard" --data "$DATA"
"$trainer" report --study "$STUDY" --models runs/models --out runs/report-default
echo "done: runs/report-default/REPORT.md; int8 blob runs/models/$(basename "$run").int8.postcard"
