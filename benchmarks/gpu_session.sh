#!/usr/bin/env bash
# Everything issue #3 asks of a CUDA machine, in one run: the GPU tests, the
# speed comparison and the time to 91.6% on Fashion-MNIST. Not used by CI.
#
#     bash benchmarks/gpu_session.sh OUT_DIR
#
# Writes into OUT_DIR: gpu_tests.txt, nvidia-smi.txt, bench_gpu.{md,json}
# (default CNN and MLP, batch 128, 3 epochs, 3 alternating rounds, with
# skorch's defaults and a plain PyTorch loop as baselines), tta_gpu.{md,json}
# (default SkMNISTClassifier, one run scored after every epoch) and
# bench_gpu_b512.{md,json} (the CNN at batch 512, the larger-batch setting a
# GPU wants). Fashion-MNIST is read from $SKMNIST_DATA/fashion-mnist or
# Debian's /usr/share/datasets/fashion-mnist: copy the four IDX .gz files
# there first on a machine without the package (the script never downloads).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: bash benchmarks/gpu_session.sh OUT_DIR}
mkdir -p "$out"

python - <<'EOF'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit("gpu_session.sh: torch sees no CUDA GPU here.")
print("GPU:", torch.cuda.get_device_name(0), "| torch", torch.__version__)
EOF
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true

# Every test marked cuda (they are skipped on CPU-only machines).
python -m pytest tests -m cuda -q -rs -p no:cacheprovider 2>&1 | tee "$out/gpu_tests.txt"

python benchmarks/bench_train.py --device cuda --arch both --epochs 3 --repeats 3 \
    --json "$out/bench_gpu.json" | tee "$out/bench_gpu.md"
python benchmarks/bench_train.py --device cuda --arch cnn --batch-size 512 --lr 4e-3 \
    --epochs 3 --repeats 3 --memory none --json "$out/bench_gpu_b512.json" \
    | tee "$out/bench_gpu_b512.md"
python benchmarks/bench_train.py --device cuda --time-to-accuracy 0.916 \
    --tta-mode trajectory --json "$out/tta_gpu.json" | tee "$out/tta_gpu.md"
echo "gpu_session.sh: results in $out"
