"""The `peer_tokenizer` policy type: VQ-VLA and NAC trained by lerobot-train, loaded back as action tokenizers."""

import pytest
import torch
from lerobot.configs.types import FeatureType, PolicyFeature

from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.policies.peer_tokenizer.configuration_peer_tokenizer import PeerTokenizerConfig
from lerobot_actioncodec.policies.peer_tokenizer.modeling_peer_tokenizer import PeerTokenizerPolicy
from lerobot_actioncodec.tokenizers.registry import load_action_tokenizer

from .helpers import ACTION_DIM, FPS, STATS, lerobot_train, smooth_actions

FEATURES = {"output_features": {"action": PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))}}
OPTIONS = {
    "vqvla": {"channels": 8, "latent_dim": 8, "levels": 2, "codebook_size": 16},
    "nac": {"channels": 4, "ratios": [2, 2], "latent_dim": 8, "codebook_size": 16, "decoder_dim": 16,
            "convnext_layers": 1},
}  # fmt: skip
ARCH = pytest.mark.parametrize("arch", sorted(OPTIONS))


def make_policy(arch: str, **overrides) -> PeerTokenizerPolicy:
    torch.manual_seed(0)
    config = PeerTokenizerConfig(arch=arch, arch_options=OPTIONS[arch], fps=FPS, device="cpu", **FEATURES, **overrides)
    return PeerTokenizerPolicy(config, dataset_stats=STATS)


@ARCH
def test_training_step_standardizes_with_the_dataset_stats_and_logs_every_term(arch):
    policy = make_policy(arch)
    assert torch.allclose(policy.action_mean, torch.tensor([0.5, -1.0, 2.0]))
    batch = {"action": smooth_actions(8, FPS + 5)}  # longer than a chunk: the first chunk_length steps are used
    loss, logs = policy.forward(batch)
    loss.backward()
    assert torch.isfinite(loss) and "loss_reconstruction" in logs
    assert any(p.grad is not None for p in policy.get_optim_params())
    tokenizer = policy.tokenizer()
    assert tokenizer.kind == arch and (tokenizer.chunk_length, tokenizer.action_dim) == (FPS, ACTION_DIM)
    assert tokenizer.decode(tokenizer.encode(batch["action"][:, :FPS])).actions.shape == (8, FPS, ACTION_DIM)


@ARCH
def test_checkpoint_loads_as_an_action_tokenizer(arch, tmp_path):
    policy = make_policy(arch)
    policy.forward({"action": smooth_actions(16, FPS)})  # the first training batch initializes the codebooks
    policy.save_pretrained(tmp_path)
    loaded = load_action_tokenizer(tmp_path)
    actions = smooth_actions(4, FPS, seed=3)
    expected = policy.tokenizer()
    assert loaded.kind == arch and torch.equal(loaded.encode(actions).ids, expected.encode(actions).ids)


def test_bad_settings_are_clear_errors():
    with pytest.raises(InvalidConfigError, match="arch='fsq': expected one of"):
        PeerTokenizerConfig(arch="fsq")
    with pytest.raises(InvalidConfigError, match=r"\['levels'\] are not nac settings; expected some of \['channels'"):
        PeerTokenizerConfig(arch="nac", arch_options={"levels": 2})
    with pytest.raises(InvalidConfigError, match=r"\['action_dim'\] are set by chunk_seconds, the fps and the data"):
        PeerTokenizerConfig(arch="vqvla", arch_options={"action_dim": 7})
    with pytest.raises(InvalidConfigError, match="chunk_seconds=0"):
        PeerTokenizerConfig(chunk_seconds=0)
    with pytest.raises(NotImplementedError, match="not a control policy"):
        make_policy("vqvla").select_action({})


def test_the_chunk_follows_the_dataset_fps_when_none_is_given():
    config = PeerTokenizerConfig(arch="vqvla", arch_options=OPTIONS["vqvla"], max_fps=20.0, **FEATURES)
    assert config.action_delta_indices == list(range(20))  # 1 s at the largest fps allowed
    meta = type("Meta", (), {"fps": 10})()
    policy = PeerTokenizerPolicy(config, dataset_stats=STATS, dataset_meta=meta)
    assert policy.config.fps == 10 and policy.settings.chunk_length == 10
    with pytest.raises(ValueError, match="dataset fps=40 exceeds max_fps=20.0"):
        PeerTokenizerPolicy(PeerTokenizerConfig(arch="vqvla", max_fps=20.0, **FEATURES),
                            dataset_meta=type("Meta", (), {"fps": 40})())  # fmt: skip


@pytest.mark.slow
def test_lerobot_train_trains_nac_and_the_actioncodec_policy_on_it(tiny_dataset, tmp_path):
    repo_id, root = tiny_dataset
    options = '{"channels": 4, "ratios": [2, 2], "latent_dim": 8, "codebook_size": 16, "decoder_dim": 16}'
    tokenizer = lerobot_train(repo_id, root, tmp_path / "nac", "--policy.type=peer_tokenizer", "--policy.arch=nac",
                              f"--policy.arch_options={options}")  # fmt: skip
    loaded = load_action_tokenizer(tokenizer)
    assert loaded.kind == "nac" and loaded.codebook_size == 16 and loaded.chunk_length == 10
    small = ["--policy.backbone=compact", "--policy.image_size=16", "--policy.hidden_size=32",
             "--policy.num_layers=1", "--policy.num_heads=2"]  # fmt: skip
    policy_dir = lerobot_train(repo_id, root, tmp_path / "policy", "--policy.type=actioncodec",
                               f"--policy.tokenizer_path={tokenizer}", *small)  # fmt: skip
    from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy

    policy = ActionCodecPolicy.from_pretrained(policy_dir).eval()
    batch = {"observation.images.front": torch.rand(2, 3, 8, 8), "observation.state": torch.randn(2, 3),
             "task": ["reach the red block"] * 2}  # fmt: skip
    assert policy.tokenizer.kind == "nac" and policy.predict_action_chunk(batch).shape == (2, 10, 3)
