"""`actioncodec_bar` policy: block-wise autoregression over the levels of a residual action tokenizer (paper A.4).

The action expert of `actioncodec_pd` with one block per RVQ level and a block-causal mask: block 0 is learned
queries and predicts level 0 (the same as parallel decoding), block b reads the codes of level b - 1 and predicts
level b, seeing every earlier block. Training predicts all levels in one teacher-forced pass; inference runs
`refinement_passes` passes, each adding one finer level (earlier blocks come from the expert's cache), and decodes
the chunk from the levels it has. The training loss weights each level's cross-entropy (`level_loss_weights`).
"""

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ...backbones.action_expert import PrefixContext
from ..actioncodec_pd.modeling_actioncodec_pd import ActionCodecPDPolicy
from .configuration_actioncodec_bar import ActionCodecBARConfig


class ActionCodecBARPolicy(ActionCodecPDPolicy):
    config_class = ActionCodecBARConfig
    name = "actioncodec_bar"
    card_summary = (
        "A block-wise autoregressive vision-language-action policy of lerobot-actioncodec: an action expert reading "
        "the backbone's KV cache predicts a residual tokenizer's levels coarse to fine, one block per level; its "
        "frozen action tokenizer (carried in `action_tokenizer/`) decodes the levels to actions in the dataset's units."
    )

    def __init__(self, config: ActionCodecBARConfig, dataset_stats: dict | None = None, **kwargs: Any):
        super().__init__(config, dataset_stats, **kwargs)
        first_ids = torch.tensor([level.first_id for level in config.levels])
        self.register_buffer("level_first_ids", first_ids[None, :, None], persistent=False)
        weights = torch.tensor(config.normalized_level_loss_weights)
        self.register_buffer("level_loss_weights", weights, persistent=False)

    def expert_blocks(self) -> tuple[int, int, int]:
        """(level length, levels, codes per level)."""
        levels = self.config.levels
        return levels[0].length, len(levels), levels[0].num_codes

    def target_codes(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        """Raw chunks -> every level's codes [B, levels, length]: inputs (level b feeds block b + 1) and targets."""
        ids, _ = self.target_tokens(actions)
        codes = ids.unflatten(1, (self.expert.blocks, self.expert.block_length)) - self.level_first_ids
        return codes, codes

    def expert_loss(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, dict[str, float]]:
        """The levels' cross-entropies [levels] weighted by `level_loss_weights` (equal weights: the mean over every
        token, as the levels have one length), and each level's loss and accuracy (the finer, the harder)."""
        per_token = F.cross_entropy(logits.flatten(0, 2), targets.flatten(), reduction="none").view_as(targets)
        per_level = per_token.mean((0, 2))
        hits = (logits.argmax(-1) == targets).float().mean((0, 2))
        logs = {"token_accuracy": float(hits.mean())}  # every level has the same number of tokens
        for level, (level_loss, hit) in enumerate(zip(per_level.tolist(), hits.tolist(), strict=True)):
            logs |= {f"loss_level_{level}": level_loss, f"token_accuracy_level_{level}": hit}
        return (per_level * self.level_loss_weights).sum(), logs

    def tokens_from(self, context: PrefixContext, temperature: float | None = None) -> Tensor:
        """[B, refinement_passes, level length]: the tokenizer's ids of the levels predicted, coarse to fine."""
        passes = self.config.passes
        return self.codes_from(context, passes, temperature) + self.level_first_ids[:, :passes]

    def chunk_from(self, context: PrefixContext, temperature: float | None = None) -> Tensor:
        """[B, chunk_length, D] raw actions, decoded from the levels predicted (fewer passes: a coarser chunk)."""
        ids = self.tokens_from(context, temperature)
        return self.executable_chunk(self.tokenizer.decode_levels(list(ids.cpu().unbind(1))), ids.device)
