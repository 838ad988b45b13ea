"""Checkpoints are portable (moved elsewhere, with the files they were built from gone, they load the same) and
carry a model card (README.md) that says what they are, what they were trained on and what was measured."""

import json
import shutil

import pytest
import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies.factory import get_policy_class, make_policy_config

from lerobot_actioncodec import ActionCodecTokenizer
from lerobot_actioncodec.model_card import CARD_FILE, MetricWindow, dataset_summary

from .helpers import (
    COMPACT_HEAD,
    POLICY_FEATURES,
    STATS,
    TINY_TOKENIZER_ARGS,
    TINY_VLM,
    lerobot_train,
    policy_batch,
    tiny_policy,
    train_steps,
    training_batch,
)

HEADS = {
    "actioncodec-compact": ("actioncodec", COMPACT_HEAD),
    "actioncodec-smolvlm": ("actioncodec", TINY_VLM),
    "actioncodec_pd-compact": ("actioncodec_pd", COMPACT_HEAD),
    "actioncodec_bar-smolvlm": ("actioncodec_bar", TINY_VLM),
    "actioncodec_ki-compact": ("actioncodec_ki", COMPACT_HEAD),
}


def build_head(name: str, tokenizer_dir):
    policy_type, settings = HEADS[name]
    torch.manual_seed(0)
    config = make_policy_config(policy_type, tokenizer_path=str(tokenizer_dir), **{"device": "cpu", **POLICY_FEATURES,
                                                                                   **settings})  # fmt: skip
    return get_policy_class(policy_type)(config, dataset_stats=STATS)


@pytest.mark.parametrize("name", list(HEADS))
def test_a_moved_policy_checkpoint_loads_without_its_sources(name, rvq_tokenizer_dir, tmp_path):
    sources = tmp_path / "machine_a"
    tokenizer_dir = shutil.copytree(rvq_tokenizer_dir, sources / "tokenizer")
    policy = build_head(name, tokenizer_dir).eval()
    policy.save_pretrained(sources / "checkpoint")
    moved = shutil.move(str(sources / "checkpoint"), tmp_path / "machine_b" / "checkpoint")
    shutil.rmtree(sources)  # the tokenizer it was built from is gone too

    loaded = get_policy_class(HEADS[name][0]).from_pretrained(moved).eval()
    torch.testing.assert_close(list(policy.parameters()), list(loaded.parameters()), rtol=0, atol=0)
    batch = policy_batch()
    torch.manual_seed(0)  # the flow head (actioncodec_ki) starts from noise
    expected = policy.predict_action_chunk(batch)
    torch.manual_seed(0)
    assert torch.equal(expected, loaded.predict_action_chunk(batch))


def test_a_moved_tokenizer_checkpoint_loads_without_its_text_encoder(tmp_path, monkeypatch):
    policy = tiny_policy()
    policy.save_pretrained(tmp_path / "a")
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    config["text_encoder"] = str(tmp_path / "a_text_model_that_is_not_here")  # trained with a frozen local model
    (tmp_path / "a" / "config.json").write_text(json.dumps(config))
    moved = shutil.move(str(tmp_path / "a"), tmp_path / "b")

    tokenizer = ActionCodecTokenizer.from_pretrained(moved)
    actions = training_batch(4)["action"][:, :10]
    assert torch.equal(tokenizer.encode(actions), policy.tokenizer.eval().encode(actions))


# ------------------------------------------------------------------------------------------- model card
def test_metric_window_averages_the_last_batches():
    window = MetricWindow(size=2)
    for loss, accuracy in [(3.0, 0.1), (2.0, 0.5), (1.0, 0.7)]:
        window.update(loss, {"token_accuracy": accuracy, "note": "text is skipped"})
    assert window.batches == 3
    assert window.means() == {"loss": (1.5, 2), "token_accuracy": (pytest.approx(0.6), 2)}


def test_the_card_states_type_tokenizer_embodiment_and_training_metrics(rvq_tokenizer_dir, tmp_path):
    policy = build_head("actioncodec_bar-smolvlm", rvq_tokenizer_dir)
    train_steps(policy, 3, policy_batch())
    policy.save_pretrained(tmp_path / "checkpoint")
    card = (tmp_path / "checkpoint" / CARD_FILE).read_text()
    assert card.startswith("---\n") and "library_name: lerobot" in card and "- actioncodec_bar" in card
    assert "# actioncodec_bar" in card and "block-wise autoregressive" in card
    assert "smolvlm: `tiny-random`" in card and "| kind | `actioncodec` |" in card and "| levels | 3 |" in card
    assert "| embodiment | `default`: 10 Hz, 3-D |" in card
    assert "of the 3 this process trained" in card and "| `token_accuracy_level_2` |" in card
    assert "Not recorded: this checkpoint was saved outside lerobot-train." in card


def test_an_untrained_checkpoint_says_so(tmp_path):
    tiny_policy().save_pretrained(tmp_path)
    card = (tmp_path / CARD_FILE).read_text()
    assert "No training batch was seen" in card and "| `default` | 10 Hz, 3-D, 10 steps per chunk |" in card


def test_push_to_hub_publishes_the_same_card(rvq_tokenizer_dir):
    policy = build_head("actioncodec-compact", rvq_tokenizer_dir)
    card = policy.generate_model_card("local/data", "actioncodec", None, ["mine"])
    assert "# actioncodec" in card.content and "- mine" in card.content
    assert card.content == policy.model_card(["mine"], None).content


def test_dataset_summary_lists_tasks(tiny_dataset):
    from lerobot.datasets.lerobot_dataset import LeRobotDatasetMetadata

    repo_id, root = tiny_dataset
    rows = dict(dataset_summary(LeRobotDatasetMetadata(repo_id, root=root)))
    assert rows["dataset"] == f"`{repo_id}`" and rows["episodes"] == 6 and rows["fps"] == 10
    assert '"reach the red block"' in rows["tasks"]


@pytest.mark.slow
def test_lerobot_train_checkpoint_card_has_dataset_and_measured_metrics(tiny_dataset, tmp_path):
    repo_id, root = tiny_dataset
    checkpoint = lerobot_train(
        repo_id, root, tmp_path / "tok", "--policy.type=actioncodec_tokenizer", *TINY_TOKENIZER_ARGS
    )
    card = (checkpoint / CARD_FILE).read_text()
    assert f"| dataset | `{repo_id}` |" in card and "| episodes | 6 |" in card and f"datasets:\n- {repo_id}" in card
    assert "of the 4 this process trained" in card and "| `overlap_rate` |" in card and "| `relative_mae` |" in card


def test_card_features_are_not_required_to_load(tmp_path):
    """The card is for people: a checkpoint without README.md still loads."""
    config = make_policy_config("actioncodec_tokenizer", fps=10, device="cpu", dim=32, num_heads=2, codebook_size=64,
                                text_encoder="hashing",
                                output_features={"action": PolicyFeature(FeatureType.ACTION, (3,))})  # fmt: skip
    get_policy_class("actioncodec_tokenizer")(config).save_pretrained(tmp_path)
    (tmp_path / CARD_FILE).unlink()
    assert get_policy_class("actioncodec_tokenizer").from_pretrained(tmp_path).config.fps == 10
