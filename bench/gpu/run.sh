#!/usr/bin/env bash
# The GPU benchmark in one command, for a machine with a real GPU: PyTorch eager CUDA first
# (bench/gpu/torch_step.py), then Harmonize on the same GPU through Vulkan in Deno
# (bench/gpu/main.ts), which prints one table with both. Flags go to both, e.g.
#   bench/gpu/run.sh --batch 16 --size 224 --reps 5
#   bench/gpu/run.sh --dry-run        # tiny sizes, CPU torch, any adapter: checks the script
# PYTHON picks the interpreter (default python3).
set -euo pipefail
cd "$(dirname "$0")/../.."
torch_result="$(mktemp)"
trap 'rm -f "$torch_result"' EXIT
"${PYTHON:-python3}" bench/gpu/torch_step.py "$@" > "$torch_result"
node node_modules/deno/bin.cjs run --allow-read --allow-env --allow-sys bench/gpu/main.ts --torch "$torch_result" "$@"
