"""Imported by LeRobot's plugin discovery (distributions named lerobot_policy_*); registers everything."""

import lerobot_actioncodec  # noqa: F401
