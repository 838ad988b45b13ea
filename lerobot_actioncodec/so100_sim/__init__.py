"""An offline twin of the SO-100 workflow: a simulated follower (`so100_sim`) and a scripted leader
(`so100_sim_leader`) that LeRobot's own lerobot-record, lerobot-teleoperate and lerobot-rollout drive.

Only the configs are imported here (LeRobot's parsers need them registered); LeRobot finds the device classes by
name (`SO100SimConfig` → `so100_sim.SO100Sim`), so MuJoCo loads only when a simulated device is made.
"""

from .config_so100_sim import SO100SimConfig
from .config_so100_sim_leader import SO100SimLeaderConfig

__all__ = ["SO100SimConfig", "SO100SimLeaderConfig"]
