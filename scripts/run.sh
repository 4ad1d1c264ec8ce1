#!/usr/bin/env bash
# The main job: set up, build, then train and evaluate the seed CNN on the chest X-ray set.
# Extra arguments go to `trainer train` (see `trainer train --help`), e.g. --protocol official.
# DATA points at the chest_xray folder (default: ../shared/data/chest_xray).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p trainer
exec target/release/trainer train --data "${DATA:-../shared/data/chest_xray}" "$@"
