#!/usr/bin/env bash
# Create .venv (Python >= 3.12), install the package with its test and metaworld extras, and the OSMesa
# library MuJoCo renders with on a CPU. Idempotent: reinstalls only when pyproject.toml changed since the
# last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in "${PYTHON:-}" python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  for candidate in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  echo "error: Python >= 3.12 is required (LeRobot 0.6); set PYTHON=/path/to/python3.12" >&2
  return 1
}

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
if [ ! -x .venv/bin/python ]; then
  "$(find_python)" -m venv .venv
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test,metaworld]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
