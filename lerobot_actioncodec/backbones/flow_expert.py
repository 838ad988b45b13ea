"""The flow-matching action expert of the knowledge-insulation head (`actioncodec_ki`, paper A.4; pi0.5 + KI).

The same transformer layout as the token experts (`action_expert.py`): a Llama with its own weights, as deep as
the backbone's language model, whose layer l attends to the backbone's layer-l keys and values of the observation
prefix. Its tokens are the chunk's T noisy actions, each fused with the flow-matching time as pi0 / SmolVLA do
(an action projection and a sine-cosine time embedding through a two-layer MLP), with bidirectional attention
among themselves; a linear head reads the velocity of every step.

Reused from LeRobot (`lerobot.policies.common`): the sine-cosine time embedding, the noise and beta time samplers
and the forward-Euler integration loop with its real-time-chunking (RTC) hook, so time conventions (t = 1 noise,
t = 0 actions) and RTC guidance are exactly those of pi0, pi0.5 and SmolVLA.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from lerobot.policies.common.vla_utils import create_sinusoidal_pos_embedding
from torch import Tensor, nn
from transformers import DynamicCache, LlamaModel, PretrainedConfig

from .action_expert import PrefixContext, expert_attention_mask, expert_config, keep_first


def insulated(context: PrefixContext) -> PrefixContext:
    """The same prefix keys and values, cut from the autograd graph: the expert's loss cannot reach the backbone
    (knowledge insulation). A new cache, so the expert's own keys never land in the backbone's."""
    cache = DynamicCache()
    for layer, entry in enumerate(context.cache.layers):
        cache.update(entry.keys.detach(), entry.values.detach(), layer)
    return PrefixContext(cache, context.mask)


class FlowMatchingExpert(nn.Module):
    def __init__(
        self,
        language: PretrainedConfig,
        chunk_length: int,
        action_dim: int,
        hidden_size: int,
        ff_mult: int = 4,
        dropout: float = 0.0,
        min_period: float = 4e-3,
        max_period: float = 4.0,
    ):
        """`language`: the backbone language model's config (its depth and attention geometry). `min_period`,
        `max_period`: the time embedding's range, as pi0's."""
        super().__init__()
        self.chunk_length, self.action_dim = chunk_length, action_dim
        self.min_period, self.max_period = min_period, max_period
        self.transformer = LlamaModel(expert_config(language, hidden_size, ff_mult, dropout))
        self.action_in = nn.Linear(action_dim, hidden_size)
        self.action_time_in = nn.Linear(2 * hidden_size, hidden_size)
        self.action_time_out = nn.Linear(hidden_size, hidden_size)
        self.velocity_out = nn.Linear(hidden_size, action_dim)

    def embed(self, noisy: Tensor, time: Tensor) -> Tensor:
        """Noisy actions [B, T, D] and times [B] -> expert inputs [B, T, d] (pi0's action-time MLP)."""
        actions = self.action_in(noisy)
        width = actions.shape[-1]
        times = create_sinusoidal_pos_embedding(time, width, self.min_period, self.max_period, device=noisy.device)
        times = times.to(actions.dtype)[:, None].expand_as(actions)
        return self.action_time_out(F.silu(self.action_time_in(torch.cat([actions, times], -1))))

    def forward(self, context: PrefixContext, noisy: Tensor, time: Tensor) -> Tensor:
        """The velocity [B, T, D] at `noisy` [B, T, D] and `time` [B]. The expert's keys are appended to the
        context's cache and removed again, so one context serves every integration step."""
        if noisy.shape[1:] != (self.chunk_length, self.action_dim):
            raise ValueError(
                f"noisy actions shape={tuple(noisy.shape)}: expected [B, {self.chunk_length}, {self.action_dim}]"
            )
        inputs = self.embed(noisy, time)
        own = torch.ones(self.chunk_length, self.chunk_length, dtype=torch.bool)  # bidirectional
        mask = expert_attention_mask(context.mask, 0, own, inputs.dtype)
        positions = torch.arange(context.length, context.length + self.chunk_length, device=noisy.device)[None]
        try:
            hidden = self.transformer(
                inputs_embeds=inputs,
                attention_mask=mask,
                position_ids=positions,
                past_key_values=context.cache,
                use_cache=True,
            ).last_hidden_state
        finally:
            keep_first(context.cache, context.length)
        return self.velocity_out(hidden.float())

    def velocity_field(self, context: PrefixContext) -> Callable[[Tensor, Tensor], Tensor]:
        """(x_t, time) -> velocity on one observation's context: the function LeRobot's `euler_integrate` takes."""
        return lambda noisy, time: self.forward(context, noisy, time)
