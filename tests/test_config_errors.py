"""A bad config value reaches the user of LeRobot's command line with the field's name and the value expected.

draccus, which LeRobot's scripts parse their configs with, reduces a ValueError raised while a config is built to
"Couldn't instantiate class X"; these tests run LeRobot's own parser, as `lerobot-train` and `lerobot-record` do."""

from dataclasses import dataclass

import pytest
from lerobot.configs.train import TrainPipelineConfig

from lerobot_actioncodec.config_errors import InvalidConfigError, reports_config_errors

from .helpers import parse_with_lerobot


@pytest.mark.parametrize(
    ("policy_args", "message"),
    [
        (["--policy.type=actioncodec", "--policy.temperature=-1"], "temperature=-1.0: expected >= 0 (0 is greedy)"),
        (["--policy.type=actioncodec_pd", "--policy.expert_hidden_size=0"], "expert_hidden_size=0: expected > 0"),
        (["--policy.type=actioncodec_bar", "--policy.dropout=1.5"], "dropout=1.5: expected in [0, 1)"),
        (["--policy.type=actioncodec_ki", "--policy.num_inference_steps=0"], "num_inference_steps=0: expected > 0"),
        (["--policy.type=actioncodec_tokenizer", "--policy.num_tokens=0"], "num_tokens=0: expected > 0"),
        (["--policy.type=peer_tokenizer", "--policy.arch=fsq"], "arch='fsq': expected one of"),
        (["--policy.type=peer_tokenizer", '--policy.arch_options={"levels": 2}'], "['levels'] are not nac settings"),
    ],
)
def test_lerobot_train_prints_the_fields_message(monkeypatch, capsys, policy_args, message):
    with pytest.raises(SystemExit) as exit_info:
        parse_with_lerobot(monkeypatch, TrainPipelineConfig, "lerobot-train", "--dataset.repo_id=local/x", *policy_args)
    assert exit_info.value.code == 1
    printed = capsys.readouterr().err
    assert message in printed, printed


def test_lerobot_record_prints_the_robot_flags_message(monkeypatch, capsys):
    """`lerobot-record --robot.type=so100_sim --robot.fps=0`, parsed by LeRobot's parser into its RecordConfig."""
    from lerobot.scripts.lerobot_record import RecordConfig

    import lerobot_actioncodec.so100_sim  # noqa: F401  (registers so100_sim)

    with pytest.raises(SystemExit):
        parse_with_lerobot(monkeypatch, RecordConfig, "lerobot-record", "--robot.type=so100_sim", "--robot.fps=0")
    printed = capsys.readouterr().err
    assert "--robot.fps must be positive, got 0" in printed, printed


def test_the_original_error_is_kept_as_the_cause_and_other_errors_pass_through():
    @dataclass
    class Checked:
        value: int

        @reports_config_errors
        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError(f"value={self.value}: expected >= 0")
            if self.value == 0:
                raise KeyError("a bug, not a bad value")

    with pytest.raises(InvalidConfigError, match=r"^value=-1: expected >= 0$") as error:
        Checked(-1)
    assert isinstance(error.value.__cause__, ValueError)
    assert not isinstance(error.value, ValueError)  # draccus would reduce a ValueError to "Couldn't instantiate"
    with pytest.raises(KeyError):
        Checked(0)
    assert Checked(1).value == 1
