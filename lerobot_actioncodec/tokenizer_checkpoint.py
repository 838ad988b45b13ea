"""Reading a trained tokenizer checkpoint's config.json, shared by the tokenizer API and the policies that embed it.

Kept free of torch and the network so LeRobot's config parsing (plugin start-up) stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TOKENIZER_POLICY_TYPE = "actioncodec_tokenizer"
PEER_POLICY_TYPE = "peer_tokenizer"


def checkpoint_type(path: str | Path) -> str | None:
    """The `type` in a checkpoint's config.json; None without one."""
    config_file = Path(path) / "config.json"
    return json.loads(config_file.read_text()).get("type") if config_file.is_file() else None


def read_tokenizer_config(path: str | Path, field: str = "path") -> dict[str, Any]:
    """The config.json of an `actioncodec_tokenizer` checkpoint; `field` names the argument in errors."""
    config_file = Path(path) / "config.json"
    if not config_file.is_file():
        raise ValueError(f"{field}={str(path)!r}: no config.json; expected a checkpoint's pretrained_model/ dir")
    config = json.loads(config_file.read_text())
    kind = config.get("type")
    if kind != TOKENIZER_POLICY_TYPE:
        raise ValueError(f"{field}={str(path)!r} holds type={kind!r}; expected {TOKENIZER_POLICY_TYPE!r}")
    return config
