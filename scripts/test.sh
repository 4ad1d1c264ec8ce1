#!/usr/bin/env bash
# Sets up and runs every test: unit tests, cross-crate tests over ../shared/data, clippy, and
# the no_std build of infer-core for the Cortex-M4F target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace
cargo clippy --workspace --all-targets -- -D warnings
cargo build -p infer-core --target thumbv7em-none-eabihf --release
