"""`--teleop.type=so100_sim_leader`: a scripted demonstrator in the place of the SO-100 leader arm."""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.teleoperators.config import TeleoperatorConfig

from .config_so100_sim import DEFAULT_SCENE_ID


@TeleoperatorConfig.register_subclass("so100_sim_leader")
@dataclass(kw_only=True)
class SO100SimLeaderConfig(TeleoperatorConfig):
    """Plays the pick-and-place expert on the scene of the so100_sim robot whose id is `follower_id`.

    The robot and the leader must run in one process (lerobot-record and lerobot-teleoperate do that).
    """

    follower_id: str | None = None

    @property
    def scene_id(self) -> str:
        return self.follower_id or DEFAULT_SCENE_ID
