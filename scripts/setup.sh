#!/usr/bin/env bash
# Installs what building and running the project needs, once; later calls return at once.
#  - libtorch 2.11 (what tch 0.24 expects) from `pip install torch==2.11.0` into .venv,
#    reachable as .venv/libtorch (the path .cargo/config.toml gives torch-sys);
#  - the Cortex-M4F Rust target for infer-core and the firmware, and qemu-system-arm (Debian
#    package) to boot the firmware. Either may fail to install (no network, not root): setup
#    then warns, and the firmware tests skip themselves with one line; everything else runs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -e .venv/libtorch/lib/libtorch_cpu.so ]; then
  echo "setup: installing PyTorch 2.11.0 into .venv for its libtorch (about 4.6 GB, a few minutes)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check torch==2.11.0
  torch_dir=$(.venv/bin/python -c "import os, torch; print(os.path.dirname(torch.__file__))")
  ln -sfn "$torch_dir" .venv/libtorch
fi

if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx thumbv7em-none-eabihf \
    || rustup target add thumbv7em-none-eabihf \
    || echo "setup: warning: cannot install the thumbv7em-none-eabihf target; Cortex-M builds and firmware tests are skipped"
fi

if ! command -v qemu-system-arm >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing qemu-system-arm (boots the firmware in the tests)"
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq qemu-system-arm >/dev/null; } \
      || echo "setup: warning: cannot install qemu-system-arm; the firmware tests will be skipped"
  else
    echo "setup: warning: no apt-get to install qemu-system-arm; the firmware tests will be skipped"
  fi
fi
