"""actioncodec-bench: tokenizers side by side on one set of chunk pairs."""

import json

import pytest
import torch

from lerobot_actioncodec.benchmark import bench_tokenizer, corrupted, make_tokenizer, markdown_table
from lerobot_actioncodec.cli.bench import fitted_on, main
from lerobot_actioncodec.evaluation import eval_split_episodes, load_episode_actions
from lerobot_actioncodec.tokenizers.binning import BinningTokenizer
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
    name, vq = make_tokenizer(f"{tmp_path / 'rvq'}:embodiment=default,levels=1", CHUNKS)
    assert name.startswith("actioncodec embodiment=default,levels=1") and vq.fixed_length == 4
    with pytest.raises(ValueError, match="embodiment='arm': unknown"):
        make_tokenizer(f"{tmp_path / 'rvq'}:embodiment=arm", CHUNKS)
    with pytest.raises(ValueError, match="unknown option 'bins'; a checkpoint takes 'levels' and 'embodiment'"):
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
    assert "| binning | benchmark chunks | 30.0 ± 0.0 | 256 | 240 |" in markdown_table([result])
    assert m["distinct_sequences"] == 1.0 and 0 <= m["chance_overlap_rate"] < 0.05 and not result.collapsed


class ConstantTokenizer(BinningTokenizer):
    """Binning that forgets its input: every chunk gets the same tokens (a collapsed tokenizer)."""

    def encode(self, actions):
        return TokenSequences.fixed(torch.zeros(len(actions), self.fixed_length, dtype=torch.long))


def test_a_collapsed_tokenizer_is_flagged_not_rewarded():
    good = BinningTokenizer.fit(CHUNKS)
    collapsed = ConstantTokenizer.fit(CHUNKS)
    results = [bench_tokenizer(name, tok, CHUNKS[:-1], CHUNKS[1:], timing_repeats=1)
               for name, tok in (("binning", good), ("constant", collapsed))]  # fmt: skip
    bad = results[1].metrics
    assert bad["overlap_rate"] == 1.0 > results[0].metrics["overlap_rate"]  # the overlap rate alone would reward it
    assert bad["chance_overlap_rate"] == 1.0 and bad["distinct_sequences"] == pytest.approx(1 / (len(CHUNKS) - 1))
    assert results[1].collapsed and not results[0].collapsed
    table = markdown_table(results)
    assert "| constant **(collapsed)** |" in table and "| binning |" in table


def test_fitted_on_reads_what_a_checkpoint_was_trained_on(tmp_path):
    def checkpoint(name, **dataset):
        path = tmp_path / name
        path.mkdir()
        (path / "train_config.json").write_text(json.dumps({"dataset": {"repo_id": "local/d", **dataset}}))
        return path

    heldout = [4, 5]
    assert fitted_on(None, "local/d", 0.3, heldout) == ("train episodes", False)
    assert fitted_on(None, "local/d", 0.0, heldout) == ("all episodes", False)
    assert fitted_on(checkpoint("same", eval_split=0.3), "local/d", 0.3, heldout) == ("train episodes", False)
    assert fitted_on(checkpoint("all", eval_split=0.0), "local/d", 0.3, heldout)[1] is True
    assert fitted_on(checkpoint("picked", episodes=[0, 1]), "local/d", 0.3, heldout) == ("episodes [0, 1]", False)
    assert fitted_on(checkpoint("leaky", episodes=[0, 5]), "local/d", 0.3, heldout)[1] is True
    assert fitted_on(checkpoint("other", repo_id="x/y"), "local/d", 0.3, heldout) == ("other dataset (x/y)", False)
    assert fitted_on(tmp_path, "local/d", 0.3, heldout) == ("unknown (no train_config.json)", True)


def test_eval_split_holds_out_what_lerobot_train_holds_out(tiny_dataset):
    from lerobot.configs.default import DatasetConfig
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.datasets.factory import make_train_eval_datasets
    from lerobot.policies.factory import make_policy_config

    repo_id, root = tiny_dataset
    data = load_episode_actions(repo_id, root)
    for split in (0.2, 0.5):
        cfg = TrainPipelineConfig(dataset=DatasetConfig(repo_id=repo_id, root=str(root), eval_split=split),
                                  policy=make_policy_config("actioncodec_tokenizer", fps=10, device="cpu"))  # fmt: skip
        train, evaluation = make_train_eval_datasets(cfg)
        assert eval_split_episodes(data.tasks, split) == (sorted(train.episodes), sorted(evaluation.episodes))
    with pytest.raises(ValueError, match="eval_split=1.0: expected in"):
        eval_split_episodes(data.tasks, 1.0)


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
    numbers = [[v for v in m.values() if isinstance(v, float)] for m in summary["tokenizers"].values()]
    assert all(torch.isfinite(torch.tensor(row)).all() for row in numbers)
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


@pytest.mark.slow
def test_cli_fits_on_train_episodes_and_scores_held_out_ones(tiny_dataset, tokenizer_dir, tmp_path, capsys):
    repo_id, root = tiny_dataset
    out = tmp_path / "bench"
    main([f"--dataset.repo_id={repo_id}", f"--dataset.root={root}", "--tokenizers", f"binning;{tokenizer_dir}",
          "--dataset.eval_split", "0.5", "--output-dir", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert "scored on 4 held-out episodes of 6" in captured.out and "fitted here on the 2 others" in captured.out
    assert "| binning | train episodes |" in captured.out
    assert "| unknown (no train_config.json) |" in captured.out and "was trained on episodes" in captured.err
    summary = json.loads((out / "bench.json").read_text())
    assert (summary["train_episodes"], summary["heldout_episodes"]) == ([0, 1], [2, 3, 4, 5])


@pytest.mark.slow
def test_learning_curves_score_every_checkpoint_of_a_run(tiny_dataset, tmp_path, capsys):
    from lerobot_actioncodec.cli import learning_curves

    from .helpers import TINY_TOKENIZER_ARGS, lerobot_train

    repo_id, root = tiny_dataset
    run = tmp_path / "tok"
    lerobot_train(repo_id, root, run, "--policy.type=actioncodec_tokenizer", *TINY_TOKENIZER_ARGS,
                  "--dataset.eval_split=0.5", steps=4, save_freq=2)  # fmt: skip
    png = tmp_path / "curves.png"
    learning_curves.main(["--run-dir", str(run), f"--dataset.repo_id={repo_id}", f"--dataset.root={root}",
                          "--dataset.eval_split", "0.5", "--chunk-seconds", "1", "--output", str(png)])  # fmt: skip
    curves = json.loads(png.with_suffix(".json").read_text())["tok"]
    assert curves["step"] == [2, 4] and png.stat().st_size > 10_000
    assert all(0 <= v <= 1 for v in curves["overlap_rate"] + curves["codebook_usage"])
    assert "| tok | 4 |" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--run-dir .*: no checkpoints"):
        learning_curves.saved_steps(tmp_path)
