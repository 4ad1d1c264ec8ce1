#!/usr/bin/env bash
# Sets up and runs every test: the house size limits, unit tests, cross-crate tests over
# ../shared/data, clippy, and the no_std build of infer-core for the Cortex-M4F target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
python3 scripts/check_sizes.py
cargo test --workspace
cargo clippy --workspace --all-targets -- -D warnings
cargo build -p infer-core --target thumbv7em-none-eabihf --release
