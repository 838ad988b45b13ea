"""actioncodec-policy-probe: teacher-forced against free-running token accuracy, and the executed chunk's error."""

import json

import pytest
import torch

from lerobot_actioncodec.cli.policy_probe import load_config, main, parse_options
from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy
from lerobot_actioncodec.policies.actioncodec_bar.modeling_actioncodec_bar import ActionCodecBARPolicy
from lerobot_actioncodec.policies.actioncodec_pd.modeling_actioncodec_pd import ActionCodecPDPolicy
from lerobot_actioncodec.prediction_probe import ProbeTotals, exec_positions_from, frame_indices, probe_batch

from .helpers import COMPACT_HEAD, POLICY_FEATURES, lerobot_train, policy_batch

BATCH = 6


def make(policy_class, tokenizer, **overrides):
    torch.manual_seed(0)
    config = policy_class.config_class(
        tokenizer_path=str(tokenizer), **{**POLICY_FEATURES, **COMPACT_HEAD, **overrides}
    )
    return policy_class(config).eval()


def probed(policy) -> dict:
    totals = ProbeTotals()
    probe_batch(policy, policy_batch(BATCH), totals)
    return totals.summary(exec_positions_from(policy))


def test_pd_predicts_in_one_pass_so_free_running_is_teacher_forced(tokenizer_dir):
    """PD's expert sees no earlier token either way: its free-running accuracy is its teacher-forced one, position by
    position, which holds only if the predicted tokens line up with the targets."""
    result = probed(make(ActionCodecPDPolicy, tokenizer_dir))
    assert result["frames"] == BATCH and len(result["free_running_accuracy_per_position"]) == 4
    assert result["free_running_token_accuracy"] == pytest.approx(result["teacher_forced_token_accuracy"])


def test_ar_first_position_reads_no_earlier_token_so_it_is_teacher_forced(tokenizer_dir):
    policy = make(ActionCodecPolicy, tokenizer_dir)
    batch = policy_batch(BATCH)
    inputs, targets = policy.target_tokens(batch["action"])
    with torch.no_grad():
        first = policy.backbone(policy._prefix(batch), inputs)[:, 0].argmax(-1)
    result = probed(policy)
    assert result["first_position_accuracy"] == pytest.approx(float((first == targets[:, 0]).float().mean()))


def test_bar_level_zero_is_one_pass_and_every_level_is_compared(rvq_tokenizer_dir):
    result = probed(make(ActionCodecBARPolicy, rvq_tokenizer_dir))
    per_position = result["free_running_accuracy_per_position"]
    assert len(per_position) == 3 * 4  # 3 levels of 4 tokens, coarse to fine
    assert sum(per_position[:4]) / 4 == pytest.approx(result["token_accuracy_level_0"])


def test_chunk_errors_are_the_executed_chunks_and_the_tokenizers_reconstruction(tokenizer_dir):
    policy = make(ActionCodecPolicy, tokenizer_dir, n_action_steps=2)
    batch = policy_batch(BATCH)
    truth = batch["action"][:, : policy.config.chunk_length]
    executed = policy.predict_action_chunk(batch)
    reconstructed = policy.tokenizer.decode(policy.tokenizer.encode(truth)).actions
    result = probed(policy)
    assert result["chunk_mae"] == pytest.approx(float((executed - truth).abs().mean()), rel=1e-5)
    steps = policy.config.steps_per_prediction
    assert 0 < steps < policy.config.chunk_length  # the first steps' error is not the whole chunk's
    first = (executed - truth)[:, :steps].abs().mean()
    assert result["executed_steps_mae"] == pytest.approx(float(first), rel=1e-5)
    assert result["tokenizer_chunk_mae"] == pytest.approx(float((reconstructed - truth).abs().mean()), rel=1e-5)
    assert "free_running_exec_token_accuracy" not in result  # no plan tokens


def test_distinct_first_tokens_count_the_ids_decoded_and_demonstrated_first(tokenizer_dir):
    """An observation-blind policy starts every chunk alike: the probe counts the different first ids it decodes
    against the demonstrations'."""
    policy = make(ActionCodecPolicy, tokenizer_dir)
    batch = policy_batch(BATCH)
    _, targets = policy.target_tokens(batch["action"])
    predicted = policy.predict_tokens(batch)
    result = probed(policy)
    assert result["distinct_first_tokens"] == len(set(predicted.flatten(1)[:, 0].tolist()))
    assert result["distinct_first_tokens_demonstrated"] == len(set(targets[:, 0].tolist()))
    totals = ProbeTotals()
    totals.add_first_tokens(torch.tensor([3, 3, 3]), torch.tensor([1, 2, -100]))
    assert (len(totals.first_tokens_predicted), len(totals.first_tokens_demonstrated)) == (1, 2)


def test_frames_keep_whole_chunks_inside_their_episode():
    assert frame_indices([(0, 12), (12, 20)], chunk_length=5, stride=3) == [0, 3, 6, 12, 15]
    assert frame_indices([(0, 4)], chunk_length=5, stride=1) == []
    with pytest.raises(ValueError, match="stride=0: expected >= 1"):
        frame_indices([(0, 4)], chunk_length=5, stride=0)
    with pytest.raises(ValueError, match="no frame was probed"):
        ProbeTotals().summary()


@pytest.mark.slow
def test_cli_probes_a_lerobot_train_checkpoint_on_a_dataset(tiny_dataset, tokenizer_dir, tmp_path, capsys):
    repo_id, root = tiny_dataset
    checkpoint = lerobot_train(repo_id, root, tmp_path / "policy", "--policy.type=actioncodec",
                               f"--policy.tokenizer_path={tokenizer_dir}", "--policy.backbone=compact",
                               "--policy.image_size=16", "--policy.hidden_size=32", "--policy.num_layers=1",
                               "--policy.num_heads=2", steps=2)  # fmt: skip
    main([f"--run=AR={checkpoint}", f"--dataset.repo_id={repo_id}", f"--dataset.root={root}", "--stride=5",
          f"--output={tmp_path / 'probe.json'}"])  # fmt: skip
    # 6 episodes of 40 frames: frames 0, 5, ..., 30 of each have a whole 10-step chunk
    assert "| AR | 42 |" in capsys.readouterr().out
    result = json.loads((tmp_path / "probe.json").read_text())["AR"]
    assert result["frames"] == 42 and 0 <= result["free_running_token_accuracy"] <= 1


@pytest.mark.parametrize(
    ("run", "match"),
    [("{tmp}", "no config.json; expected a lerobot-train pretrained_model directory"),
     ("{tokenizer}", "type 'actioncodec_tokenizer' predicts no tokens")],
    ids=["not-a-checkpoint", "tokenizer"],
)  # fmt: skip
def test_what_cannot_be_probed_is_named(run, match, tokenizer_dir, tiny_dataset, tmp_path, capsys):
    repo_id, root = tiny_dataset
    with pytest.raises(SystemExit):
        main([f"--run={run.format(tmp=tmp_path, tokenizer=tokenizer_dir)}", f"--dataset.repo_id={repo_id}",
              f"--dataset.root={root}"])  # fmt: skip
    assert match in capsys.readouterr().err


def test_options_change_a_runs_setting_at_load_time_and_are_checked(rvq_tokenizer_dir, tmp_path):
    make(ActionCodecBARPolicy, rvq_tokenizer_dir).save_pretrained(tmp_path / "bar")
    options = parse_options(["bar1:refinement_passes=1", "bar1:temperature=0.5"], ["bar", "bar1"])
    assert options == {"bar1": {"refinement_passes": 1, "temperature": 0.5}}
    config = load_config(tmp_path / "bar", "cpu", options["bar1"])
    assert (config.passes, config.temperature, config.device) == (1, 0.5, "cpu")
    with pytest.raises(InvalidConfigError, match="refinement_passes=4: expected 1..3"):
        load_config(tmp_path / "bar", "cpu", {"refinement_passes": 4})
    with pytest.raises(ValueError, match=r"\['refinement_pass'\]: not settings of actioncodec_bar"):
        load_config(tmp_path / "bar", "cpu", {"refinement_pass": 1})
    with pytest.raises(ValueError, match="expected NAME:KEY=VALUE"):
        parse_options(["refinement_passes=1"], ["bar"])
    with pytest.raises(ValueError, match="no --run is named 'bar2'"):
        parse_options(["bar2:refinement_passes=1"], ["bar"])
