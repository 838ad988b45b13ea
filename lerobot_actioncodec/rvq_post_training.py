"""RVQ post-training checkpoints (paper appendix C, figure 15).

Stage 1 trains a single-level VQ tokenizer. `prepare_rvq_checkpoint` turns it into a residual tokenizer
(default depth 3) whose encoder and level-0 codebook are frozen, ready for
`lerobot-train --policy.path=<prepared dir>`; only the residual codebooks and the decoder then learn,
with the reconstruction and VQ objectives. Level-0 tokens therefore stay those of the VQ model.
`export_vq_checkpoint` copies the post-trained decoder back into a single-level tokenizer: the same
tokens as stage 1, decoded with the better decoder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import ActionCodecTokenizerConfig
from .policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import ActionCodecTokenizerPolicy
from .policies.actioncodec_tokenizer.processor_actioncodec_tokenizer import (
    make_actioncodec_tokenizer_pre_post_processors,
)

_RESIDUAL_PREFIX = "codec.quantizer.levels."


def _is_residual_key(key: str) -> bool:
    return key.startswith(_RESIDUAL_PREFIX) and not key.startswith(_RESIDUAL_PREFIX + "0.")


def _derive(source: str | Path, out: str | Path, **changes) -> ActionCodecTokenizerPolicy:
    """Build a policy from `source`'s config with `changes`, copy the shared tokenizer weights, save it."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"out={str(out)!r} exists and is not empty; expected a new directory")
    src = ActionCodecTokenizerPolicy.from_pretrained(source)
    config: ActionCodecTokenizerConfig = dataclasses.replace(src.config, **changes)
    policy = ActionCodecTokenizerPolicy(config)
    shared = {k: v for k, v in src.tokenizer.state_dict().items() if not _is_residual_key(k)}
    missing, unexpected = policy.tokenizer.load_state_dict(shared, strict=False)
    if unexpected or any(not _is_residual_key(k) for k in missing):
        raise ValueError(f"checkpoint {source} does not match: missing {missing}, unexpected {unexpected}")
    policy.save_pretrained(out)
    for pipeline in make_actioncodec_tokenizer_pre_post_processors(config):
        pipeline.save_pretrained(out)
    return policy


def prepare_rvq_checkpoint(vq_checkpoint: str | Path, out: str | Path, levels: int = 3) -> ActionCodecTokenizerPolicy:
    if levels < 2:
        raise ValueError(f"levels={levels}: expected >= 2 (level 0 plus at least one residual level)")
    src_levels = ActionCodecTokenizerConfig.from_pretrained(vq_checkpoint).rvq_levels
    if src_levels != 1:
        raise ValueError(
            f"checkpoint {vq_checkpoint} has rvq_levels={src_levels}: expected a single-level VQ tokenizer"
        )
    return _derive(vq_checkpoint, out, rvq_levels=levels, rvq_post_training=True)


def export_vq_checkpoint(rvq_checkpoint: str | Path, out: str | Path) -> ActionCodecTokenizerPolicy:
    src_levels = ActionCodecTokenizerConfig.from_pretrained(rvq_checkpoint).rvq_levels
    if src_levels < 2:
        raise ValueError(f"checkpoint {rvq_checkpoint} has rvq_levels={src_levels}: expected an RVQ tokenizer (>= 2)")
    return _derive(rvq_checkpoint, out, rvq_levels=1, rvq_post_training=False)
