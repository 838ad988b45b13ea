#!/usr/bin/env bash
# Sourced by setup.sh and test.sh: find Python >= 3.12 (LeRobot 0.6) and keep a virtual environment installed.

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

# ensure_venv DIR REQUIREMENT [NO_DEPS...]: create DIR and `pip install -e REQUIREMENT` into it, then the NO_DEPS
# packages without their own requirements. Idempotent: reinstalls only when pyproject.toml changed since the last
# successful install into DIR.
ensure_venv() {
  local dir=$1 requirement=$2; shift 2
  if [ ! -x "$dir/bin/python" ]; then
    "$(find_python)" -m venv "$dir"
  fi
  local stamp
  stamp="$dir/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    "$dir/bin/python" -m pip install --quiet --upgrade pip
    "$dir/bin/python" -m pip install --quiet -e "$requirement"
    [ $# -eq 0 ] || "$dir/bin/python" -m pip install --quiet --no-deps "$@"
    rm -f "$dir"/.installed-*
    touch "$stamp"
  fi
}
