#!/usr/bin/env bash
# Installs everything the test suite needs on a Debian machine, then runs it.
# The same command runs in CI (.ci/run). Pass extra pytest arguments after it, e.g. -k conv.
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(g++ clang make gcc-arm-none-eabi libnewlib-arm-none-eabi
  libstdc++-arm-none-eabi-newlib libnewlib-dev qemu-system-arm gcc-xtensa-lx106
  binutils-xtensa-lx106 valgrind cmake ninja-build)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A virtual environment per checkout, so this checkout's editable install never replaces another
# one's. It does not see the system's site-packages: the suite must pass with only what this
# script installs, so a package someone installed by hand cannot hide a missing dependency
# (pip's download cache still saves the downloads). An older .venv that saw them is replaced.
if [ -f .venv/pyvenv.cfg ] && grep -q "include-system-site-packages = true" .venv/pyvenv.cfg; then
  rm -rf .venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --disable-pip-version-check -q -e '.[test]'
# Legacy Keras 2 (tf_keras) converts the layers Keras 3 cannot (LSTMs, UpSampling2D as one op).
# Its release must match TensorFlow's; --no-deps, or it pulls `tensorflow` beside tensorflow-cpu.
tf_minor=$(.venv/bin/python -c "import tensorflow as tf; print('.'.join(tf.__version__.split('.')[:2]))")
.venv/bin/python -m pip install --disable-pip-version-check -q --no-deps "tf-keras~=${tf_minor}.0"
export PATH="$PWD/.venv/bin:$PATH"
# Models the tests convert with TensorFlow are cached by content (tests/tflite_builders.py) outside
# the checkout, so a fresh clone on the same machine does not convert them again; a cold cache
# only costs time.
export TINYC_TEST_MODELS="${TINYC_TEST_MODELS:-$HOME/.cache/tinyc/test-models}"
python -m ruff check compiler tests bench examples
python -m pytest -n 2 "$@"
