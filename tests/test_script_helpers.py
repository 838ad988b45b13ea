"""The shell helpers that make the long benchmark scripts resumable: the protocol's evaluation order
(scripts/checkpoints.sh) and the reports kept from a finished run (`report` in scripts/lib.sh)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash(script: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f"set -euo pipefail; {script}"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env})  # fmt: skip


def test_checkpoints_are_evaluated_latest_step_first_for_every_run(tmp_path):
    for run, steps in {"a": ["000500", "001000"], "b": ["001000"], "unlisted": ["002000"]}.items():
        for step in steps:
            (tmp_path / "runs" / run / "policy" / "checkpoints" / step).mkdir(parents=True)
    (tmp_path / "runs" / "a" / "policy" / "checkpoints" / "last").symlink_to("001000")
    listing = _bash(f'source scripts/checkpoints.sh; checkpoints_latest_first "{tmp_path}" b a')
    found = [str(Path(line).relative_to(tmp_path / "runs")) for line in listing.stdout.splitlines()]
    assert found == ["b/policy/checkpoints/001000", "a/policy/checkpoints/001000", "a/policy/checkpoints/000500"]


def test_a_report_is_kept_until_its_command_or_inputs_change(tmp_path):
    data, tokenizer, out, calls = tmp_path / "data", tmp_path / "tok", tmp_path / "bench.md", tmp_path / "calls"
    data.mkdir()
    tokenizer.mkdir()
    (tokenizer / "model.safetensors").write_text("v1")

    def score(label: str = "table") -> subprocess.CompletedProcess:
        command = (
            f'source scripts/lib.sh; report "{out}" "{data}:{tokenizer}" bash -c "echo run >> {calls}; echo {label}"'
        )
        return _bash(command)

    first = score()
    assert first.returncode == 0 and first.stdout == "table\n" and out.read_text() == "table\n"
    again = score()
    assert "kept from an earlier run" in again.stdout and again.stdout.endswith("table\n")
    assert calls.read_text().count("run") == 1
    os.utime(out, (1, 1))  # a tokenizer trained after the report: scored again
    assert score().stdout == "table\n" and calls.read_text().count("run") == 2
    assert score("other").stdout == "other\n" and out.read_text() == "other\n"  # another command: scored again
    assert calls.read_text().count("run") == 3


def test_a_failed_report_is_not_kept(tmp_path):
    out = tmp_path / "bench.md"
    failed = _bash(f'source scripts/lib.sh; report "{out}" "{tmp_path}" bash -c "echo partial; exit 3"')
    assert failed.returncode == 3 and not (tmp_path / "bench.md.command").exists()
    rerun = _bash(f'source scripts/lib.sh; report "{out}" "{tmp_path}" bash -c "echo partial; exit 3"')
    assert rerun.returncode == 3 and "kept" not in rerun.stdout
