"""benchmarks/policy_speed.py --tokenizer: saved tokenizers compared under one head in one run."""

import importlib
from pathlib import Path

import pytest

from lerobot_actioncodec.tokenizers.binning import BinningTokenizer

from .helpers import FPS, smooth_actions

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def policy_speed(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their shared _timing module
    return importlib.import_module("policy_speed")


def run(policy_speed, monkeypatch, *args: str) -> None:
    monkeypatch.setattr("sys.argv", ["policy_speed.py", *args])
    policy_speed.main()


def test_tokenizers_are_compared_by_tokens_per_chunk_against_the_first(policy_speed, monkeypatch, tmp_path, capsys):
    chunks = smooth_actions(16, FPS, seed=3)  # [N, T, D]
    for bins in (8, 16):
        BinningTokenizer.fit(chunks, bins=bins).save_pretrained(tmp_path / f"bins{bins}")
    flags = [f"--tokenizer=bins{b}={tmp_path / f'bins{b}'}" for b in (8, 16)]
    run(policy_speed, monkeypatch, *flags, "--repeats=1", "--threads=1", "--image-size=32", "--train-batch=2")
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| bins")]
    tokens = chunks.shape[1] * chunks.shape[2]
    assert [(r[0], r[1], r[2]) for r in rows] == [("| bins8", "ar", str(tokens)), ("| bins16", "ar", str(tokens))]
    assert rows[0][5] == "1.00x" and rows[0][7] == "1.00x |"  # the first tokenizer is the baseline


def test_a_tokenizer_flag_without_a_folder_is_refused(policy_speed, monkeypatch, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(policy_speed, monkeypatch, f"--tokenizer={tmp_path / 'missing'}")
    assert "expected LABEL=DIR with DIR a saved tokenizer folder" in capsys.readouterr().err
