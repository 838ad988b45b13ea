"""lerobot-actioncodec: ActionCodec action tokenizers and the VLA policies built on them, for LeRobot.

Importing this package registers every policy type with LeRobot (`--policy.type=actioncodec_tokenizer`,
`--policy.type=actioncodec`, `--policy.type=actioncodec_pd`, `--policy.type=actioncodec_bar`,
`--policy.type=actioncodec_ki`, `--policy.type=peer_tokenizer`) and the postprocessor step their checkpoints
name (`actioncodec_action_bounds`), so lerobot-eval, lerobot-record and lerobot-rollout can load them, and the
simulated SO-100 arm (`--robot.type=so100_sim`) with its scripted leader (`--teleop.type=so100_sim_leader`).
Heavy modules (the networks) load lazily, so LeRobot's command-line start-up stays fast.
"""

from typing import Any

from .config_errors import InvalidConfigError
from .libero_assets import prepare_libero
from .policies.action_bounds import ActionBoundsProcessorStep
from .policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from .policies.actioncodec_bar.configuration_actioncodec_bar import ActionCodecBARConfig
from .policies.actioncodec_ki.configuration_actioncodec_ki import ActionCodecKIConfig
from .policies.actioncodec_pd.configuration_actioncodec_pd import ActionCodecPDConfig
from .policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import ActionCodecTokenizerConfig
from .policies.peer_tokenizer.configuration_peer_tokenizer import PeerTokenizerConfig
from .rendering import default_headless_renderer
from .so100_sim import SO100SimConfig, SO100SimLeaderConfig

default_headless_renderer()
prepare_libero()

__version__ = "0.1.0"
__all__ = [
    "ActionBoundsProcessorStep",
    "ActionCodecBARConfig",
    "ActionCodecConfig",
    "ActionCodecKIConfig",
    "ActionCodecPDConfig",
    "ActionCodecTokenizer",
    "ActionCodecTokenizerConfig",
    "InvalidConfigError",
    "PeerTokenizerConfig",
    "SO100SimConfig",
    "SO100SimLeaderConfig",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "ActionCodecTokenizer":
        from .tokenizers.actioncodec import ActionCodecTokenizer

        return ActionCodecTokenizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
