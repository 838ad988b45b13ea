"""actioncodec-bench: tokenizers side by side on one set of chunk pairs."""

import json

import pytest
import torch

from lerobot_actioncodec.benchmark import bench_tokenizer, corrupted, make_tokenizer, markdown_table
from lerobot_actioncodec.cli.bench import main
from lerobot_actioncodec.tokenizers.interface import TokenSequences
from lerobot_actioncodec.tokenizers.registry import load_action_tokenizer

from .helpers import FPS, smooth_actions, tiny_policy

CHUNKS = smooth_actions(64, FPS, seed=7)


def test_specs_fit_heuristic_tokenizers_with_options_and_reject_bad_ones():
    name, binning = make_tokenizer("binning:bins=1000", CHUNKS)
    assert name == "binning:bins=1000" and binning.vocab_size == 1000
    assert make_tokenizer("fast:vocab_size=300", CHUNKS)[1].vocab_size <= 300
    vqvla = make_tokenizer("vqvla:steps=2,levels=2,codebook_size=16,channels=8,latent_dim=8,lr=0.01", CHUNKS)[1]
    assert (vqvla.kind, vqvla.vocab_size) == ("vqvla", 32)
    with pytest.raises(ValueError, match="tokenizer spec 'binning:size=3': unknown option 'size'; expected one of"):
        make_tokenizer("binning:size=3", CHUNKS)
    with pytest.raises(ValueError, match="expected a saved action tokenizer"):
        make_tokenizer("not-a-tokenizer", CHUNKS)


def test_checkpoint_specs_take_rvq_levels(tmp_path):
    tiny_policy(rvq_levels=3).save_pretrained(tmp_path / "rvq")
    name, rvq = make_tokenizer(f"{tmp_path / 'rvq'}:levels=3", CHUNKS)
    assert name.startswith("actioncodec levels=3") and rvq.fixed_length == 3 * 4
    assert rvq.decode(rvq.encode(CHUNKS[:2])).actions.shape == CHUNKS[:2].shape
    with pytest.raises(ValueError, match="unknown option 'bins'; a checkpoint takes 'levels'"):
        make_tokenizer(f"{tmp_path / 'rvq'}:bins=3", CHUNKS)


def test_one_error_corrupts_exactly_one_token_per_sequence():
    tokens = TokenSequences.from_lists([[1, 2, 3, 4], [5, 6], []])
    broken = corrupted(tokens, vocab_size=1000, seed=1)
    assert broken.lengths.tolist() == [4, 2, 0]
    changes = [
        sum(a != b for a, b in zip(x, y, strict=True))
        for x, y in zip(tokens.to_lists(), broken.to_lists(), strict=True)
    ]
    assert changes == [1, 1, 0]


def test_bench_metrics_of_binning_are_what_binning_implies():
    _, binning = make_tokenizer("binning", CHUNKS)
    result = bench_tokenizer("binning", binning, CHUNKS[:-1], CHUNKS[1:], timing_repeats=1)
    m = result.metrics
    assert (m["tokens_mean"], m["tokens_std"], m["vocab_size"]) == (FPS * 3, 0.0, 256)
    assert m["bits_per_chunk"] == pytest.approx(FPS * 3 * 8)
    assert m["repaired_share_clean"] == 0 and m["repaired_share_one_error"] == 0  # any id decodes
    assert m["reconstruction_relative_mae"] < 0.05 and result.reconstruction.shape == CHUNKS[:-1].shape
    assert "| binning | 30.0 ± 0.0 | 256 | 240 |" in markdown_table([result])


def test_fast_needs_repair_after_a_single_error_more_often_than_never():
    _, fast = make_tokenizer("fast:vocab_size=300", CHUNKS)
    m = bench_tokenizer("fast", fast, CHUNKS[:-1], CHUNKS[1:], timing_repeats=1).metrics
    assert m["repaired_share_clean"] == 0 and 0 < m["repaired_share_one_error"] <= 1
    assert m["tokens_std"] > 0  # a variable budget


@pytest.mark.slow
def test_cli_on_a_dataset_with_a_trained_checkpoint(tiny_dataset, tokenizer_dir, tmp_path, capsys):
    repo_id, root = tiny_dataset
    out = tmp_path / "bench"
    main([f"--dataset.repo_id={repo_id}", f"--dataset.root={root}", "--tokenizers",
          f"binning,fast:vocab_size=300,{tokenizer_dir}", "--max-chunks", "80", "--output-dir", str(out),
          "--save-dir", str(tmp_path / "fitted")])  # fmt: skip
    printed = capsys.readouterr().out
    assert "chunk pairs of 10 steps x 3 dims at 10 fps" in printed and "| binning |" in printed
    summary = json.loads((out / "bench.json").read_text())
    assert list(summary["tokenizers"]) == ["binning", "fast:vocab_size=300", f"actioncodec ({tokenizer_dir})"]
    assert all(torch.isfinite(torch.tensor(list(m.values()))).all() for m in summary["tokenizers"].values())
    assert (out / "bench.png").stat().st_size > 10_000
    assert sorted(p.name for p in (tmp_path / "fitted").iterdir()) == ["binning", "fast_vocab_size_300"]
    assert load_action_tokenizer(tmp_path / "fitted" / "fast_vocab_size_300").vocab_size == 300


def test_cli_rejects_a_tokenizer_of_another_chunk_length(tiny_dataset, tokenizer_dir, tmp_path):
    repo_id, root = tiny_dataset
    with pytest.raises(ValueError, match="chunks of 10 x 3, but the benchmark's are 5 x 3"):
        main([f"--dataset.repo_id={repo_id}", f"--dataset.root={root}", "--tokenizers", str(tokenizer_dir),
              "--chunk-seconds", "0.5", "--output-dir", str(tmp_path)])  # fmt: skip


def test_plot_labels_keep_the_end_of_a_long_checkpoint_path():
    from lerobot_actioncodec.report import short_label

    assert short_label("binning") == "binning"
    label = short_label("actioncodec (outputs/demo/tokenizer/checkpoints/last/pretrained_model)")
    assert label == "actioncodec (.../pretrained_model)" and len(label) <= 36
