import json

import pytest
import torch
from lerobot.configs.policies import PreTrainedConfig

from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.embodiments import EmbodimentSpec, load_registry
from lerobot_actioncodec.policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import (
    ActionCodecTokenizerConfig,
)

from .helpers import parse_with_lerobot, tiny_config, tiny_policy


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("num_tokens", 0, "num_tokens=0: expected > 0"),
        ("codebook_size", -1, "codebook_size=-1"),
        ("token_mixing", "full", "token_mixing='full'"),
        ("normalization", "zscore", "normalization='zscore'"),
        ("reconstruction_loss", "huber", "reconstruction_loss='huber'"),
        ("tcl_weight", -0.1, "tcl_weight=-0.1: expected >= 0"),
        ("tcl_granularity", "episode", "tcl_granularity='episode': expected one of"),
        ("code_consistency_weight", -1.0, "code_consistency_weight=-1.0: expected >= 0"),
        ("dim", 30, "dim=30: expected a multiple of num_heads=4"),
        ("fps", 0, "fps=0: expected > 0"),
        ("rvq_post_training", True, "rvq_post_training needs rvq_levels >= 2"),
    ],
)
def test_bad_config_values(field, value, match):
    with pytest.raises(InvalidConfigError, match=match):
        ActionCodecTokenizerConfig(**{field: value})


def test_chunk_request_follows_known_fps_or_max_fps():
    assert ActionCodecTokenizerConfig(fps=20).action_delta_indices == list(range(21))
    assert ActionCodecTokenizerConfig().action_delta_indices == list(range(51))  # 1 s at max_fps=50, + shift
    assert ActionCodecTokenizerConfig(fps=30, chunk_seconds=0.5, tcl_shift=2).action_delta_indices == list(range(17))


def test_chunk_request_uses_the_registry_specs_chunk_seconds():
    metaworld = EmbodimentSpec(fps=80, action_dim=4, chunk_seconds=0.5)
    cfg = ActionCodecTokenizerConfig(embodiment="mw", embodiments={"mw": metaworld}, chunk_seconds=1.0)
    assert cfg.action_delta_indices == list(range(41))  # 0.5 s at 80 Hz, + shift


def test_embodiment_resolution_against_dataset():
    cfg = tiny_config(fps=None)
    spec = cfg.resolve_embodiment(dataset_fps=10, action_names=["a", "b", "c"])
    assert (spec.fps, spec.action_dim, spec.chunk_length, cfg.max_action_dim) == (10, 3, 10, 3)
    with pytest.raises(ValueError, match="dataset has fps=15"):
        cfg.resolve_embodiment(dataset_fps=15)
    with pytest.raises(ValueError, match="exceeds max_fps=50"):
        tiny_config(fps=None).resolve_embodiment(dataset_fps=100)


def test_registry_embodiment_and_padding(tmp_path):
    registry = tmp_path / "reg.json"
    registry.write_text(json.dumps({"arm3": {"fps": 10, "action_dim": 3}, "arm6": {"fps": 30, "action_dim": 6}}))
    cfg = tiny_config(fps=None, embodiment="arm3", embodiment_registry=str(registry))
    assert cfg.action_delta_indices == list(range(11))
    policy = tiny_policy(fps=None, embodiment="arm3", embodiment_registry=str(registry))
    assert policy.tokenizer.arch.max_action_dim == 6 and policy.tokenizer.embodiment_names == ["arm3", "arm6"]
    with pytest.raises(ValueError, match="action_dim=6; expected equal"):
        tiny_policy(fps=None, embodiment="arm6", embodiment_registry=str(registry))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"x": {"fps": 10}}, "missing field 'action_dim'"),
        ({"x": {"fps": 10, "action_dim": 2, "gain": 1}}, r"unknown fields \['gain'\]"),
        ({"x": {"fps": -1, "action_dim": 2}}, "fps=-1.0"),
        ({"x": {"fps": 10, "action_dim": 2, "action_names": ["a"]}}, "1 names, expected action_dim=2"),
        ({}, "non-empty"),
    ],
)
def test_bad_registry(tmp_path, content, match):
    path = tmp_path / "reg.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=match):
        load_registry(path)
    with pytest.raises(ValueError, match="file not found"):
        load_registry(tmp_path / "nope.json")


def test_shipped_registry_loads():
    from pathlib import Path

    specs = load_registry(Path(__file__).parents[1] / "configs" / "embodiments.json")
    assert specs["libero_franka"] == EmbodimentSpec(
        fps=20, action_dim=7, action_names=specs["libero_franka"].action_names
    )
    assert all(spec.chunk_length >= 1 for spec in specs.values())


def test_config_json_round_trip(tmp_path):
    policy = tiny_policy()
    policy.config._save_pretrained(tmp_path)
    loaded = PreTrainedConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, ActionCodecTokenizerConfig)
    assert loaded.embodiments == policy.config.embodiments
    assert loaded.max_action_dim == 3 and loaded.fps == 10


def test_paper_preset_parses_through_lerobot_train_parser(monkeypatch):
    from pathlib import Path

    from lerobot.configs.train import TrainPipelineConfig

    preset = Path(__file__).parents[1] / "configs" / "tokenizer_paper.json"
    monkeypatch.chdir(preset.parents[1])  # the preset names configs/embodiments.json relative to the repo
    cfg = parse_with_lerobot(monkeypatch, TrainPipelineConfig, "lerobot-train", f"--config_path={preset}",
                             "--dataset.repo_id=local/x")  # fmt: skip
    assert isinstance(cfg.policy, ActionCodecTokenizerConfig)
    assert (cfg.policy.dim, cfg.policy.num_tokens, cfg.policy.codebook_size, cfg.batch_size) == (512, 16, 2048, 8192)
    assert cfg.policy.action_delta_indices == list(range(21))  # libero_franka: 1 s at 20 Hz + 1 shift step


def test_libero_paper_policy_preset_is_table_7_with_lerobots_image_transforms():
    """configs/libero/policy_paper.json: the paper's VLA recipe (Table 7) through LeRobot's own parser and its
    `--dataset.image_transforms`: random crop of 87.5% per side, brightness/contrast/saturation 0.2, hue 0.05."""
    from pathlib import Path

    import draccus
    from lerobot.configs.train import TrainPipelineConfig
    from lerobot.transforms.transforms import ImageTransforms

    from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig

    preset = Path(__file__).parents[1] / "configs" / "libero" / "policy_paper.json"
    cfg = draccus.parse(TrainPipelineConfig, config_path=str(preset), args=["--dataset.repo_id=local/x"])
    assert isinstance(cfg.policy, ActionCodecConfig) and cfg.policy.backbone == "smolvlm"
    scheduler = cfg.policy.get_scheduler_preset()
    assert (cfg.policy.optimizer_lr, scheduler.num_warmup_steps, scheduler.num_decay_steps, scheduler.decay_lr) == (
        1e-4, 1000, 30_000, 1e-5)  # fmt: skip
    assert cfg.steps == 30_000 and cfg.batch_size * 4 == 128  # 4 processes (accelerate launch) give Table 7's 128
    transforms = ImageTransforms(cfg.dataset.image_transforms)
    assert sorted(transforms.transforms) == ["brightness", "contrast", "crop", "hue", "saturation"]
    assert transforms.tf.n_subset == 5  # every transform on every frame, not a random subset
    image = torch.rand(3, 256, 256)
    out = transforms(image)
    assert out.shape == image.shape and not torch.equal(out, image)


def test_libero_cpu_policy_preset_parses_with_the_compact_backbone():
    """configs/libero/policy_cpu.json, what scripts/libero_demo.sh trains with."""
    from pathlib import Path

    import draccus
    from lerobot.configs.train import TrainPipelineConfig

    preset = Path(__file__).parents[1] / "configs" / "libero" / "policy_cpu.json"
    cfg = draccus.parse(TrainPipelineConfig, config_path=str(preset), args=["--dataset.repo_id=local/x"])
    assert (cfg.policy.type, cfg.policy.backbone, cfg.policy.device) == ("actioncodec", "compact", "cpu")
    assert cfg.save_freq == cfg.steps and cfg.num_workers == 0
