#!/usr/bin/env bash
# HF-transformers parity check of `ponet forward` (see README.md). CPU-frugal: nice -n 15, one thread.
#   PONET=/path/to/ponet [HF_PARITY_WORK=/tmp/ponet-hf-parity] tools/hf-parity/run_all.sh
# Exit status: 0 all comparisons within tolerance and every negative control detected; 1 otherwise; 2 setup error.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${HF_PARITY_WORK:-/tmp/ponet-hf-parity}"
PY=/usr/bin/python3
VOCAB="$REPO/tests/PoNet.Tests/Data/bert-base-uncased-vocab.txt"
PONET_BIN="$(command -v "${PONET:-ponet}" || true)"
if [ -z "$PONET_BIN" ]; then
  echo "run_all.sh: cannot find the ponet CLI '${PONET:-ponet}'; set PONET=/path/to/ponet" \
       "(e.g. dotnet build -c Release -o /tmp/ponet src/PoNet.Cli; PONET=/tmp/ponet/ponet)" >&2
  exit 2
fi
if ! "$PY" -c "import torch, packaging" 2>/dev/null; then
  echo "run_all.sh: $PY cannot import torch/packaging; apt-get install python3-torch python3-packaging" >&2
  exit 2
fi
[ -f "$VOCAB" ] || { echo "run_all.sh: missing $VOCAB" >&2; exit 2; }
export PONET="$PONET_BIN" HF_PARITY_WORK="$WORK" OMP_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1
mkdir -p "$WORK"
echo "ponet: $PONET; work folder: $WORK"

# Tiny corpus: the repository's own Markdown, one document per file (blank lines dropped, since ponet pretrain
# separates documents by blank lines).
if [ ! -f "$WORK/bert-run/model/model.safetensors" ] || [ ! -f "$WORK/fnet-run/model/model.safetensors" ]; then
  rm -rf "$WORK/corpus"
  mkdir -p "$WORK/corpus"
  for f in "$REPO/README.md" "$REPO"/docs/*.md "$HERE/README.md"; do
    [ -f "$f" ] || continue
    name="$(realpath --relative-to="$REPO" "$f" | tr '/' '_')"
    grep -v '^[[:space:]]*$' "$f" > "$WORK/corpus/$name.txt"
  done
  echo "corpus: $(ls "$WORK/corpus" | wc -l) documents in $WORK/corpus"
fi
for arch in bert fnet; do
  if [ ! -f "$WORK/$arch-run/model/model.safetensors" ]; then
    rm -rf "$WORK/$arch-run"
    echo "making the tiny $arch checkpoint (log $WORK/$arch-pretrain.log)"
    if ! OMP_NUM_THREADS=1 nice -n 15 "$PONET" pretrain --arch "$arch" --corpus "$WORK/corpus" --out "$WORK/$arch-run" \
        --vocab "$VOCAB" --layers 2 --hidden 32 --heads 2 --ffn 64 --max-length 64 --steps 2 --batch-size 4 \
        --warmup 1 --eval-every 1 --eval-examples 8 --held-out-every 2 --seed 42 --threads 1 \
        > "$WORK/$arch-pretrain.log" 2>&1; then
      tail -20 "$WORK/$arch-pretrain.log" >&2
      echo "run_all.sh: ponet pretrain --arch $arch failed" >&2
      exit 2
    fi
  fi
done

nice -n 15 "$PY" "$HERE/make_inputs.py" "$WORK/inputs.safetensors" > /dev/null || exit 2
nice -n 15 "$PY" "$HERE/check.py" > "$WORK/check.log" 2>&1
check_rc=$?
cat "$WORK/check.log"
echo
echo "=== negative controls ==="
nice -n 15 "$PY" "$HERE/controls.py" > "$WORK/controls.log" 2>&1
controls_rc=$?
cat "$WORK/controls.log"
echo
if [ "$check_rc" -ne 0 ] || [ "$controls_rc" -ne 0 ]; then
  echo "HF PARITY: FAILED (check.py exit $check_rc, controls.py exit $controls_rc; logs in $WORK)"
  exit 1
fi
echo "HF PARITY: PASSED (logs in $WORK)"
