#!/usr/bin/env bash
# The GPU campaign of issue 18 (bench/gpu.py): the engine's vmapped-vs-sequential speed and
# FLOP/s, a WRN-28-10 step at batch 128, and chapter 1's in-premise sweep stored as a GPU run,
# every result under --out DIR. About 5-6 minutes on one H200 (the limit is 8).
#
#   bench/gpu.sh --out DIR [--data DIR] [--parts 1,3,2]   on the GPU machine
#   bench/gpu.sh --out DIR --dry                           every part at ci size on the CPU
#   bench/gpu.sh --prepare-data DIR                        MNIST-1D's arrays, for a machine
#                                                          without the mnist1d package
# PYTHON (default: python) is the interpreter with JAX, Flax and Optax.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" "$repo/bench/gpu.py" "$@"
