"""`--robot.type=so100_sim`: a simulated SO-100/SO-101 follower with so100_follower's joint names and units."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lerobot.robots.config import RobotConfig

from ..config_errors import reports_config_errors

DEFAULT_SCENE_ID = "so100_sim"
EPISODE_CLOCKS = ("wall", "sim")


@RobotConfig.register_subclass("so100_sim")
@dataclass(kw_only=True)
class SO100SimConfig(RobotConfig):
    """The simulated arm, its camera and how its episodes start and end (lerobot_actioncodec/so100_sim/scene.py).

    Each `send_action` holds the targets for 1 / `fps` seconds of simulated time, however long the computer takes.
    """

    fps: int = 30
    seed: int = 0
    camera_width: int = 128
    camera_height: int = 128
    # A second camera, `wrist`, on the gripper looking along the jaws (as SO-100 wrist cameras), same size.
    wrist_camera: bool = False
    # As so100_follower: the largest change of a joint target per action (degrees; gripper 0-100), None = no cap.
    max_relative_target: float | dict[str, float] | None = None
    # Episodes: a new one (arm home, cube re-sampled) starts every `episode_time_s`, timed by `episode_clock`:
    # "wall" follows lerobot-record's episode timer (give it the dataset's --dataset.episode_time_s, with
    # --dataset.reset_time_s=0: the twin resets itself), "sim" counts simulated time (lerobot-rollout: a policy that
    # thinks slowly gets the same simulated time as a fast one). None: one episode for the whole session.
    episode_time_s: float | None = None
    episode_clock: str = "wall"
    # Also start a new episode as soon as the cube is placed (for measuring a policy's success rate).
    end_on_success: bool = False
    randomize_goal: bool = False
    # Stop the session once this many episodes have finished, as an operator's Ctrl-C would (lerobot-rollout shuts
    # down gracefully on it): a rollout of exactly N episodes. None: run until the script's own end.
    stop_after_episodes: int | None = None
    # Where the episodes' outcomes are written as JSON when the robot disconnects (success rate of a rollout).
    results_path: Path | None = None

    @reports_config_errors
    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("fps", "camera_width", "camera_height"):
            if getattr(self, name) <= 0:
                raise ValueError(f"--robot.{name} must be positive, got {getattr(self, name)}")
        if self.episode_time_s is not None and self.episode_time_s <= 0:
            raise ValueError(f"--robot.episode_time_s must be positive or None, got {self.episode_time_s}")
        if self.stop_after_episodes is not None and self.stop_after_episodes <= 0:
            raise ValueError(f"--robot.stop_after_episodes must be positive or None, got {self.stop_after_episodes}")
        if self.episode_clock not in EPISODE_CLOCKS:
            raise ValueError(f"--robot.episode_clock must be one of {EPISODE_CLOCKS}, got {self.episode_clock!r}")

    @property
    def scene_id(self) -> str:
        """The key a so100_sim_leader uses to find this arm's scene: the robot's id."""
        return self.id or DEFAULT_SCENE_ID
