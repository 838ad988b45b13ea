"""The scripted leader: LeRobot's Teleoperator interface over the joint-space pick-and-place expert."""

from __future__ import annotations

import logging
from functools import cached_property

from lerobot.teleoperators.teleoperator import Teleoperator
from lerobot.utils.decorators import check_if_already_connected, check_if_not_connected

from .config_so100_sim_leader import SO100SimLeaderConfig
from .expert import ScriptedPickPlace
from .scene import MOTOR_KEYS, connected_scene

logger = logging.getLogger(__name__)


class SO100SimLeader(Teleoperator):
    config_class = SO100SimLeaderConfig
    name = "so100_sim_leader"

    def __init__(self, config: SO100SimLeaderConfig):
        super().__init__(config)
        self.config = config
        self._connected = False
        self._expert: ScriptedPickPlace | None = None

    @cached_property
    def action_features(self) -> dict[str, type]:
        return dict.fromkeys(MOTOR_KEYS, float)

    @cached_property
    def feedback_features(self) -> dict[str, type]:
        return {}

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def is_calibrated(self) -> bool:
        return True

    @check_if_already_connected
    def connect(self, calibrate: bool = True) -> None:
        # lerobot-record connects the teleoperator before the robot, so the scene is looked up at the first action.
        self._connected = True
        logger.info(f"{self} connected (scripted, follows so100_sim {self.config.scene_id!r}).")

    def calibrate(self) -> None:
        """A scripted leader has no encoders to calibrate."""

    def configure(self) -> None:
        """Nothing to configure."""

    @check_if_not_connected
    def get_action(self) -> dict[str, float]:
        scene = connected_scene(self.config.scene_id)
        if self._expert is None or self._expert.scene is not scene:
            self._expert = ScriptedPickPlace(scene)
        return self._expert.action()

    def send_feedback(self, feedback: dict) -> None:
        """The scripted leader has no motors to receive feedback."""

    @check_if_not_connected
    def disconnect(self) -> None:
        self._connected = False
        self._expert = None
        logger.info(f"{self} disconnected.")
