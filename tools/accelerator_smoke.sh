#!/usr/bin/env bash
# Smoke test for accelerator owners (`make smoke-gpu`): does dank train, generate
# and export on this machine, with XLA on? About 5-10 minutes on a 2-core CPU,
# mostly XLA compiling ResNet50; about 2 minutes on a GPU.
#
# With an NVIDIA GPU (nvidia-smi works) it installs the `gpu` extra into a fresh
# venv; without one it says so and uses this checkout's .venv (or $PYTHON) on the
# CPU. Either way it trains the `tiny` vision and caption models with
# --jit-compile on, draws 8 memes, exports SavedModel and ONNX, and prints the
# training images/s and tokens/s. Exit status 0 means every step worked.
#
#   tools/accelerator_smoke.sh [WORK_DIR]     (default: a new /tmp/dank-smoke.*)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/dank-smoke.XXXXXX")}
mkdir -p "$WORK"
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2} PYTHONUNBUFFERED=1

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "smoke: GPU found ($(nvidia-smi -L | head -1)); installing the gpu extra" \
        "into $WORK/venv"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/python" -m pip install -q --upgrade pip
    "$WORK/venv/bin/python" -m pip install -q -e '.[gpu]'
    PY="$WORK/venv/bin/python"
else
    PY=${PYTHON:-.venv/bin/python}
    [ -x "$PY" ] || PY=python3
    echo "smoke: no NVIDIA GPU found: skipping the GPU install; running on the CPU" \
        "with $PY (XLA on, as on a GPU)"
fi

dank() { "$PY" -m dank "$@"; }
step() { echo; echo "smoke: $*"; }

step "devices"
"$PY" -c 'import tensorflow as tf; print(tf.__version__, [d.name for d in tf.config.list_logical_devices()])'

step "a tiny synthetic source and its data build"
"$PY" -c 'import sys; from dank.data.synthetic import make_source; make_source(sys.argv[1])' \
    "$WORK/source"
dank data build --source "$WORK/source" --out "$WORK/data"

step "vision, tiny, --jit-compile on"
dank train vision --preset tiny --data "$WORK/data" --run "$WORK/run" --jit-compile on
step "captions, tiny, --jit-compile on"
dank train language --preset tiny --data "$WORK/data" --run "$WORK/run" --jit-compile on

step "8 memes from one template picture"
picture=$(find "$WORK/source/templates" -type f | sort | head -1)
dank generate --run "$WORK/run" -n 8 --out "$WORK/memes" "$picture" > "$WORK/memes.jsonl"
memes=$(find "$WORK/memes" -name '*.png' | wc -l)
[ "$memes" -eq 8 ] || { echo "smoke: expected 8 memes, found $memes" >&2; exit 1; }

step "export"
dank export --run "$WORK/run" --format savedmodel --out "$WORK/export/savedmodel"
dank export --run "$WORK/run" --format onnx --out "$WORK/export/onnx"

step "summary"
"$PY" - "$WORK" <<'EOF'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
vision = json.loads((work / "run/vision/metrics.json").read_text())
language = json.loads((work / "run/language/metrics.json").read_text())
print(f"vision:   {vision['train_images_per_second']} images/s, "
      f"XLA {vision['jit_compile']['on']}, val top-1 {vision['val_top1']:.3f}")
print(f"captions: {language['train_tokens_per_second']} tokens/s, "
      f"XLA {language['jit_compile']['on']}, "
      f"test perplexity {language['test']['perplexity']:.1f}")
print(f"memes:    {len(list((work / 'memes').glob('*.png')))} in {work / 'memes'}")
print(f"exports:  {', '.join(sorted(p.name for p in (work / 'export').iterdir()))}")
EOF
echo "smoke: passed ($WORK)"
