"""The lerobot-eval presets in configs/eval parse with LeRobot's own config class."""

from pathlib import Path

import draccus
import pytest
from lerobot.configs.eval import EvalPipelineConfig

EVAL_CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "eval"


def test_libero_preset_is_the_papers_protocol():
    cfg = draccus.parse(EvalPipelineConfig, config_path=str(EVAL_CONFIGS / "libero_paper.json"), args=[])
    assert cfg.env.type == "libero" and cfg.env.fps == 20
    assert cfg.env.task.split(",") == ["libero_spatial", "libero_object", "libero_goal", "libero_10"]
    assert cfg.eval.n_episodes == 50  # trials per task


def test_libero_demo_preset_evaluates_the_demos_tasks_at_its_image_size():
    cfg = draccus.parse(EvalPipelineConfig, config_path=str(EVAL_CONFIGS / "libero_demo.json"), args=[])
    assert (cfg.env.type, cfg.env.task, cfg.env.task_ids) == ("libero", "libero_object", [0, 2, 3])
    assert (cfg.env.observation_height, cfg.env.observation_width) == (128, 128)  # the collector's --image-size


@pytest.mark.parametrize("name", ["libero_paper.json", "libero_demo.json", "metaworld_demo.json"])
def test_eval_presets_take_command_line_overrides(name):
    cfg = draccus.parse(EvalPipelineConfig, config_path=str(EVAL_CONFIGS / name), args=["--eval.n_episodes=3"])
    assert cfg.eval.n_episodes == 3
