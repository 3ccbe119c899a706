#!/usr/bin/env bash
# The GPU check (issue 16): img/s and MFU of resnet18_28 (28 px, batch 128, bf16) and timm resnet50 (224 px,
# batch 256, bf16, channels_last) through medzoo's training loop beside a plain PyTorch loop, the wall time
# of `medzoo run quick`, a 224 px split streamed in pinned chunks against one moved whole (same batches,
# img/s delivered), train.compile: true (CUDA graphs) against eager on simple_cnn, and the throughput of
# 1, 2, 4, 8 runs packed on one GPU (--workers-per-gpu), each beside its goal. Under 8 minutes on one H100;
# see benchmarks/gpu_check.py for what each number means.
#
# Usage: MEDZOO_DATA=../shared/data benchmarks/gpu_check.sh [--smoke] [--peak-tflops 989] [--data-dir DIR]
#        (--smoke: a tiny CPU-sized run, under a minute; the python is $PYTHON, else .venv/bin/python, else python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python; fi
fi
export MEDZOO_DATA="${MEDZOO_DATA:-../shared/data}"
exec "$PY" benchmarks/gpu_check.py "$@"
