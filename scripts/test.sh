#!/usr/bin/env bash
# Sets up and runs every test: the house size limits, unit tests, cross-crate tests over
# ../shared/data (the firmware booted in QEMU among them), clippy, and the Cortex-M4F builds:
# infer-core no_std and the firmware (clippy on its device code).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
python3 scripts/check_sizes.py
cargo test --workspace
cargo clippy --workspace --all-targets -- -D warnings
if rustc --print sysroot | xargs -I{} test -d {}/lib/rustlib/thumbv7em-none-eabihf; then
  cargo build -p infer-core --target thumbv7em-none-eabihf --release
  # Own target folder, as the firmware test uses, so the firmware is built once.
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/firmware-seed_cnn" \
    cargo clippy -p firmware-demo --release --target thumbv7em-none-eabihf -- -D warnings
else
  echo "Cortex-M builds skipped: the thumbv7em-none-eabihf target is not installed"
fi
