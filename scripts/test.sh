#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, slow end-to-end tests included.
# Quick subset: scripts/test.sh -m "not slow"
# Besides .venv (package + test and metaworld extras), it keeps .venv-base: the package alone, as a plain
# `pip install -e .` gives it, which tests/test_base_install.py checks (imports, README example, lerobot-train).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/venv.sh
ensure_venv .venv-base .
export HF_HUB_OFFLINE=1 WANDB_MODE=disabled ACTIONCODEC_BASE_PYTHON="$PWD/.venv-base/bin/python"
exec .venv/bin/python -m pytest -q --durations=25 "$@"  # the slowest tests, to keep CI inside its budget
