"""What a plain `pip install -e .` (no extras) gives a user, checked in an environment that has only that.

1. Every module of the package imports. A module that needs an extra must import lazily and name the extra
   when used; a module-level import of an undeclared package fails here.
2. The README's Python example (the ```python block of "## Using it") runs as written, on a tokenizer
   checkpoint saved here with tiny sizes in place of `outputs/tok/...`.
3. `lerobot-train --help` works with each of the package's policy types, found by LeRobot's plugin discovery.

Run it with the base environment's Python: `.venv-base/bin/python scripts/check_base_install.py`
(`scripts/test.sh` builds .venv-base; tests/test_base_install.py runs this script).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_CHECKPOINT = "outputs/tok/checkpoints/last/pretrained_model"
POLICY_TYPES = ("actioncodec_tokenizer", "peer_tokenizer", "actioncodec", "actioncodec_pd", "actioncodec_bar")
TINY_TOKENIZER = dict(dim=32, num_heads=2, encoder_layers=1, decoder_layers=1, codebook_size=64, codebook_dim=8,
                      num_tokens=4, num_prompt_tokens=2, fourier_bands=4, clip_dim=16, kmeans_init=False)  # fmt: skip


def import_every_module() -> list[str]:
    import lerobot_actioncodec
    import lerobot_policy_actioncodec  # noqa: F401  (what LeRobot's plugin discovery imports)

    names = [m.name for m in pkgutil.walk_packages(lerobot_actioncodec.__path__, "lerobot_actioncodec.")]
    for name in names:
        importlib.import_module(name)
    return names


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Using it", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    if match is None or README_CHECKPOINT not in match.group(1):
        raise SystemExit(f"README.md: no ```python example loading {README_CHECKPOINT!r} under '## Using it'")
    return match.group(1)


def run_readme_example(directory: Path) -> None:
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature

    from lerobot_actioncodec import ActionCodecTokenizerConfig
    from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
        ActionCodecTokenizerPolicy,
    )

    config = ActionCodecTokenizerConfig(
        fps=10, device="cpu", output_features={"action": PolicyFeature(FeatureType.ACTION, (3,))}, **TINY_TOKENIZER
    )
    if config.text_encoder != "hashing":  # SmolLM2 comes with scripts/setup.sh, not with a plain install
        raise SystemExit(f"text_encoder='auto' resolved to {config.text_encoder!r}; expected the 'hashing' fallback")
    checkpoint = directory / "pretrained_model"
    stats = {"action": {"mean": torch.zeros(3), "std": torch.ones(3)}}
    ActionCodecTokenizerPolicy(config, dataset_stats=stats).save_pretrained(checkpoint)
    namespace = {"actions": torch.randn(2, 10, 3)}
    exec(readme_example().replace(README_CHECKPOINT, str(checkpoint)), namespace)  # noqa: S102
    tokens, decoded = namespace["tokens"], namespace["actions"]
    if tuple(tokens.shape) != (2, 4) or tuple(decoded.shape) != (2, 10, 3):
        raise SystemExit(f"README example: tokens {tuple(tokens.shape)}, actions {tuple(decoded.shape)}")


def lerobot_train_help() -> None:
    script = Path(sys.executable).parent / "lerobot-train"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for policy_type in POLICY_TYPES:
        proc = subprocess.run([str(script), f"--policy.type={policy_type}", "--help"], capture_output=True,
                              text=True, env=env, timeout=300)  # fmt: skip
        if proc.returncode != 0 or "--policy.device" not in proc.stdout:
            raise SystemExit(f"lerobot-train --policy.type={policy_type} --help exited {proc.returncode}:\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")  # fmt: skip


def main() -> None:
    names = import_every_module()
    print(f"imported {len(names)} modules")
    with tempfile.TemporaryDirectory() as directory:
        run_readme_example(Path(directory))
    print("README example ran")
    lerobot_train_help()
    print(f"lerobot-train --help works for {', '.join(POLICY_TYPES)}")


if __name__ == "__main__":
    main()
