#!/usr/bin/env bash
# The GPU check (issue 16): img/s and MFU of resnet18_28 (28 px, batch 128, bf16) and timm resnet50 (224 px,
# batch 256, bf16, channels_last) through medzoo's training loop beside a plain PyTorch loop, the wall time
# of `medzoo run quick`, a 224 px split streamed in pinned chunks against one moved whole (same batches,
# img/s delivered), train.compile: true (CUDA graphs) against eager on simple_cnn, and the throughput of
# 1, 2, 4, 8 runs packed on one GPU (--workers-per-gpu), each beside its goal. Under 8 minutes on one H100
# (--budget-s 480); see benchmarks/gpu_check.py for what each number means.
#
# Usage: MEDZOO_DATA=../shared/data benchmarks/gpu_check.sh [--install] [--smoke] [--peak-tflops 989]
#                                                            [--data-dir DIR] [--budget-s 480]
#   --install: first `pip install --no-deps -e .` (a machine whose python has torch, timm and accelerate but
#              not medzoo: the plugins are found through the installed package's entry points)
#   --smoke:   a tiny CPU-sized run, under a minute
#   the python is $PYTHON, else .venv/bin/python, else python3
#
# On a lent GPU machine (the device tool; the data beside the checkout does not travel, so copy it into the
# ignored folder .gpu-data first, here: mkdir -p .gpu-data && cp -rp ../shared/data/medmnist .gpu-data/),
# one call with carry [".gpu-data"] and timeout_s 560:
#   set -o pipefail; PYTHONUNBUFFERED=1 MEDZOO_DATA=.gpu-data benchmarks/gpu_check.sh --install 2>&1 | tee $OUT/gpu_check.log
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
if [ "${1:-}" = "--install" ]; then
    shift
    "$PY" -m pip install -q --no-deps --no-build-isolation -e .
fi
export MEDZOO_DATA="${MEDZOO_DATA:-../shared/data}"
exec "$PY" benchmarks/gpu_check.py "$@"
