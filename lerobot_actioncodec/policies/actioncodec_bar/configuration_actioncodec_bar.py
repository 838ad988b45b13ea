"""Config of the `actioncodec_bar` policy type: block-wise autoregression over the levels of a residual tokenizer
(paper section 6.2 and A.4, the variant with its best LIBERO results).

The tokenizer must be residual: an ActionCodec tokenizer after RVQ post-training (`actioncodec-rvq`), whose every
level is read, or VQ-VLA's residual VQ-VAE. Each level is one block of the action expert; pass b predicts level b.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from lerobot.configs import PreTrainedConfig

from ...config_errors import reports_config_errors
from ...tokenizers.interface import TokenLevel
from ..actioncodec_pd.configuration_actioncodec_pd import ActionCodecPDConfig


@PreTrainedConfig.register_subclass("actioncodec_bar")
@dataclass
class ActionCodecBARConfig(ActionCodecPDConfig):
    reads_all_levels: ClassVar[bool] = True

    # Passes of the action expert per chunk, coarse to fine: pass b predicts level b from the levels before it
    # (1 is parallel decoding of level 0). The chunk is decoded from the levels predicted. None: every level.
    refinement_passes: int | None = None
    # Weight of each level's cross-entropy in the training loss, coarse to fine (normalised to sum 1), e.g.
    # [1, 0.25, 0.25] to let level 0, which alone is the parallel-decoding target, dominate the shared gradients.
    # None: equal weights, the mean over every token.
    level_loss_weights: list[float] | None = None

    @reports_config_errors
    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tokenizer_info is not None:
            levels = self.levels
            if self.refinement_passes is not None and not 1 <= self.refinement_passes <= len(levels):
                raise ValueError(
                    f"refinement_passes={self.refinement_passes}: expected 1..{len(levels)} (the tokenizer's levels)"
                )
            weights = self.level_loss_weights
            if weights is not None and (
                len(weights) != len(levels)
                or not all(math.isfinite(w) and w >= 0 for w in weights)
                or sum(weights) <= 0
            ):
                raise ValueError(
                    f"level_loss_weights={weights}: expected {len(levels)} finite weights >= 0 (one per level of the "
                    "tokenizer, coarse to fine), not all 0"
                )

    @property
    def levels(self) -> list[TokenLevel]:
        """The tokenizer's levels; a clear error unless there are several, of one length and one codebook size."""
        info = self._require_tokenizer()
        raw = info.get("token_levels")
        levels = [TokenLevel(*level) for level in raw or []]
        if len(levels) < 2:
            found = f"{len(levels)} level" if levels else "no levels"
            raise ValueError(
                f"the {info['kind']} tokenizer has {found}: block-wise autoregression needs a residual tokenizer with "
                "at least 2 levels (an actioncodec tokenizer after RVQ post-training, see `actioncodec-rvq`, or vqvla)"
            )
        shapes = [(level.length, level.num_codes) for level in levels]
        if len(set(shapes)) > 1:
            raise ValueError(
                f"the {info['kind']} tokenizer's levels have (length, codes) {shapes}: block-wise autoregression "
                "needs levels of one length and one codebook size"
            )
        return levels

    @property
    def passes(self) -> int:
        return self.refinement_passes or len(self.levels)

    @property
    def normalized_level_loss_weights(self) -> list[float]:
        """The weights of the levels' losses, summing to 1 (equal unless `level_loss_weights` is set)."""
        weights = self.level_loss_weights or [1.0] * len(self.levels)
        return [w / sum(weights) for w in weights]
