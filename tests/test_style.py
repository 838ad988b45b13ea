"""The tree follows the style configured in pyproject.toml ([tool.ruff]): lint rules and formatting."""

import subprocess
from pathlib import Path

import pytest

from .helpers import BIN

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["lerobot_actioncodec", "lerobot_policy_actioncodec", "tests", "benchmarks"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command):
    proc = subprocess.run([str(BIN / "ruff"), *command, *SOURCES], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
