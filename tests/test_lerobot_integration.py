"""The plugin as LeRobot sees it: discovery, lerobot-train subprocesses, checkpoints, RVQ stage 2."""

import importlib.metadata
import json

import pytest
import torch

from lerobot_actioncodec import ActionCodecTokenizer

from .helpers import TINY_TOKENIZER_ARGS, lerobot_train, run_cli


def test_distribution_name_matches_lerobot_plugin_prefix():
    names = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    assert "lerobot_policy_actioncodec" in names


def test_register_third_party_plugins_finds_the_type():
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()
    assert {"actioncodec_tokenizer", "actioncodec"} <= set(PreTrainedConfig.get_known_choices())


def test_lerobot_factory_resolves_policy_and_processors():
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    from .helpers import tiny_config

    cls = get_policy_class("actioncodec_tokenizer")
    assert cls.__name__ == "ActionCodecTokenizerPolicy" and cls.name == "actioncodec_tokenizer"
    cfg = tiny_config()
    cfg.resolve_embodiment(10)
    pre, post = make_pre_post_processors(cfg)
    assert [s.__class__.__name__ for s in pre.steps][-1] == "NormalizerProcessorStep"

    policy_cls = get_policy_class("actioncodec")
    assert policy_cls.__name__ == "ActionCodecPolicy" and policy_cls.name == "actioncodec"


@pytest.mark.parametrize(
    ("policy_type", "class_name"), [("actioncodec_pd", "PD"), ("actioncodec_bar", "BAR"), ("actioncodec_ki", "KI")]
)
def test_lerobot_factory_resolves_the_expert_heads(policy_type, class_name, rvq_tokenizer_dir):
    from lerobot.policies.factory import get_policy_class, make_policy_config, make_pre_post_processors

    from .helpers import POLICY_FEATURES

    cls = get_policy_class(policy_type)
    assert cls.__name__ == f"ActionCodec{class_name}Policy" and cls.name == policy_type
    config = make_policy_config(policy_type, tokenizer_path=str(rvq_tokenizer_dir), device="cpu", **POLICY_FEATURES)
    assert config.type == policy_type and config.__class__.__name__ == f"ActionCodec{class_name}Config"
    pre, post = make_pre_post_processors(config, dataset_stats=None)
    assert pre.steps and post.steps


@pytest.mark.slow
def test_lerobot_train_help_lists_the_type_without_extra_flags():
    proc = run_cli("lerobot-train", "--policy.type=actioncodec_tokenizer", "--help")
    assert "--policy.codebook_size" in proc.stdout and "--policy.tcl_weight" in proc.stdout


@pytest.mark.slow
def test_lerobot_train_end_to_end_then_rvq_stage(tiny_dataset, tmp_path):
    repo_id, root = tiny_dataset
    ckpt = lerobot_train(repo_id, root, tmp_path / "vq", "--policy.type=actioncodec_tokenizer", *TINY_TOKENIZER_ARGS)
    config = json.loads((ckpt / "config.json").read_text())
    assert config["type"] == "actioncodec_tokenizer" and config["fps"] is None
    assert config["embodiments"]["default"]["fps"] == 10  # chunk = 1 s at the dataset's fps, found by itself
    tok = ActionCodecTokenizer.from_pretrained(ckpt)
    assert (tok.chunk_length, tok.action_dim) == (10, 3)
    actions = torch.randn(2, 10, 3)
    tokens = tok.encode(actions)
    assert tokens.shape == (2, 4) and tok.decode(tokens).shape == (2, 10, 3)

    run_cli("actioncodec-rvq", "prepare", "--from", str(ckpt), "--out", str(tmp_path / "rvq_init"), "--levels", "2")
    rvq_ckpt = lerobot_train(repo_id, root, tmp_path / "rvq", f"--policy.path={tmp_path / 'rvq_init'}")
    rvq = ActionCodecTokenizer.from_pretrained(rvq_ckpt)
    assert torch.equal(rvq.encode(actions)[:, 0], tokens)

    metrics = run_cli("actioncodec-tokenizer-metrics", "--checkpoint", str(rvq_ckpt),
                      f"--dataset.repo_id={repo_id}", f"--dataset.root={root}")  # fmt: skip
    result = json.loads(metrics.stdout)
    assert 0 <= result["overlap_rate"] <= 1 and result["reconstruction_mae"] > 0
