"""`actioncodec_pd` policy: cameras + state + task -> backbone KV cache -> action expert -> all action tokens at once.

The backbone (`smolvlm` or `compact`, the autoregressive policy's, without its action vocabulary) encodes the
observation prefix; the action expert reads its KV cache and predicts the logits of every action position in one
forward pass from learned queries with bidirectional attention (paper A.4). Greedy by default (the paper's argmax),
sampling with temperature / top_k. Everything else (tokenizer, processors, the queue, the no-motion fallback,
save/load with the tokenizer and VLM files) is the autoregressive policy's.
"""

from typing import Any

import torch
from lerobot.utils.constants import ACTION
from torch import Tensor

from ...backbones.action_expert import ActionExpert, PrefixContext
from ..actioncodec.modeling_actioncodec import ActionCodecPolicy, token_cross_entropy
from .configuration_actioncodec_pd import ActionCodecPDConfig


class ActionCodecPDPolicy(ActionCodecPolicy):
    config_class = ActionCodecPDConfig
    name = "actioncodec_pd"
    backbone_predicts_tokens = False
    card_summary = (
        "A parallel-decoding vision-language-action policy of lerobot-actioncodec: an action expert reading the "
        "backbone's KV cache predicts every action token of a chunk in one forward pass; its frozen action "
        "tokenizer (carried in `action_tokenizer/`) decodes them to actions in the dataset's units."
    )

    def __init__(self, config: ActionCodecPDConfig, dataset_stats: dict | None = None, **kwargs: Any):
        super().__init__(config, dataset_stats, **kwargs)
        block_length, blocks, vocab_size = self.expert_blocks()
        language = self.backbone.language_config
        self.expert = ActionExpert(
            language,
            block_length=block_length,
            blocks=blocks,
            vocab_size=vocab_size,
            hidden_size=config.expert_width(language.hidden_size),
            ff_mult=config.expert_ff_mult,
            dropout=config.dropout,
        )

    def expert_blocks(self) -> tuple[int, int, int]:
        """(block length, blocks, codes per block): one block of every position over the head's vocabulary."""
        return self.layout.positions, 1, self.layout.head_vocab_size

    def target_codes(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        """Raw chunks [B, T, D] -> the expert's input codes and its targets, [B, blocks, block length] each."""
        _, targets = self.target_tokens(actions)
        return targets.clamp_min(0)[:, None], targets[:, None]  # no block reads codes: the inputs are never used

    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        inputs, targets = self.target_codes(batch[ACTION])
        context = self.backbone.encode_prefix(self._prefix(batch))
        loss, logs = self.expert_loss(self.expert(context, inputs), targets)
        return self.tracked(loss, logs)

    def expert_loss(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Cross-entropy of the expert's logits [B, blocks, length, V] over every trained position."""
        return token_cross_entropy(logits, targets)

    def observe(self, batch: dict[str, Any]) -> PrefixContext:
        """The backbone's KV cache of the observation prefix, which every expert pass reads."""
        return self.backbone.encode_prefix(self._prefix(batch))

    @torch.no_grad()
    def codes_from(self, context: PrefixContext, passes: int = 1, temperature: float | None = None) -> Tensor:
        """[B, passes, block length] codes, one expert pass per block (at the config's temperature unless given)."""
        temperature = self.config.temperature if temperature is None else temperature
        return self.expert.generate(context, passes, temperature, self.config.top_k)

    def predict_codes(self, batch: dict[str, Any], passes: int = 1, temperature: float | None = None) -> Tensor:
        return self.codes_from(self.observe(batch), passes, temperature)

    def tokens_from(self, context: PrefixContext, temperature: float | None = None) -> Tensor:
        """[B, positions] ids over the head's vocabulary, from one forward pass."""
        return self.codes_from(context, temperature=temperature)[:, 0]
