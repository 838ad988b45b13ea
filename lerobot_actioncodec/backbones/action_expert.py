"""The action expert of the parallel (PD) and block-wise autoregressive (BAR) heads (paper A.4, figure 12; pi0's
layout).

A transformer with its own weights and feed-forward layers, as deep as the backbone's language model: its layer l
attends to the backbone's layer-l keys and values of the observation prefix (image, state, task: the backbone's
KV cache) and to its own tokens. It is transformers' Llama fed with embeddings, whose attention appends the
expert's keys to that cache; the expert therefore shares the backbone's head count and head size, while its width
and feed-forward size are its own. Because the backbone's language model only ever sees the prefix, it keeps a
plain causal mask (Flash Attention stays usable) and the expert alone carries the special masks.

Its tokens are `blocks` blocks of `block_length`: block 0 is learned queries (pi0's [BOS] tokens), block b > 0 is
the embedded codes of level b - 1; every block predicts the codes of its own level, over `vocab_size` codes, with
a head of its own. Attention is bidirectional inside a block and causal across blocks, so one block is parallel
decoding and several are BAR over RVQ levels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from transformers import DynamicCache, LlamaConfig, LlamaModel, PretrainedConfig

from ..decoding import choose_tokens


@dataclass
class PrefixContext:
    """The backbone's pass over an observation prefix: its KV cache (one entry per layer) and which prefix
    positions are real (False: padding), [B, P]."""

    cache: DynamicCache
    mask: Tensor

    @property
    def length(self) -> int:
        return self.mask.shape[1]

    def repeat_rows(self, times: int) -> PrefixContext:
        """A copy with each row `times` times in a row (sampling several chunks of one observation in one batch);
        this context's cache is left as it is."""
        cache = copy.deepcopy(self.cache)
        cache.batch_repeat_interleave(times)
        return PrefixContext(cache, self.mask.repeat_interleave(times, 0))


def keep_first(cache: DynamicCache, length: int) -> None:
    """Drop every cached position after the first `length` (transformers' negative `crop`: its positive form is
    deprecated)."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def block_causal_mask(block_sizes: list[int]) -> Tensor:
    """Bool [N, N], N = sum(block_sizes): query i sees key j when j's block is i's block or an earlier one."""
    block = torch.repeat_interleave(torch.arange(len(block_sizes)), torch.tensor(block_sizes))
    return block[:, None] >= block[None, :]


def expert_attention_mask(prefix_mask: Tensor, earlier: int, own: Tensor, dtype: torch.dtype) -> Tensor:
    """The additive mask [B, 1, Q, P + earlier + Q] of Q new expert tokens: the real prefix positions, every token of
    the `earlier` expert tokens already in the cache, and `own` (bool [Q, Q]) among themselves."""
    batch, queries = len(prefix_mask), own.shape[0]
    visible = torch.cat(
        [
            prefix_mask.bool()[:, None, :].expand(batch, queries, -1),
            torch.ones(batch, queries, earlier, dtype=torch.bool, device=prefix_mask.device),
            own.to(prefix_mask.device)[None].expand(batch, -1, -1),
        ],
        dim=-1,
    )
    blocked = torch.zeros(visible.shape, dtype=dtype, device=prefix_mask.device)
    return blocked.masked_fill(~visible, torch.finfo(dtype).min)[:, None]


def expert_config(language: PretrainedConfig, hidden_size: int, ff_mult: int, dropout: float) -> LlamaConfig:
    """A Llama config as deep as the backbone's language model, with its attention geometry (heads, KV heads, head
    size, RoPE) so each layer can read the backbone's cached keys, and a width of its own."""
    head_dim = getattr(language, "head_dim", None) or language.hidden_size // language.num_attention_heads
    config = LlamaConfig(
        vocab_size=1,  # inputs are embeddings; the token table is unused
        hidden_size=hidden_size,
        intermediate_size=hidden_size * ff_mult,
        num_hidden_layers=language.num_hidden_layers,
        num_attention_heads=language.num_attention_heads,
        num_key_value_heads=getattr(language, "num_key_value_heads", None) or language.num_attention_heads,
        head_dim=head_dim,
        max_position_embeddings=language.max_position_embeddings,
        rms_norm_eps=getattr(language, "rms_norm_eps", 1e-6),
        rope_parameters=dict(getattr(language, "rope_parameters", None) or {"rope_type": "default"}),
        attention_dropout=dropout,
    )
    config._attn_implementation = "sdpa"
    return config


class ActionExpert(nn.Module):
    def __init__(
        self,
        language: PretrainedConfig,
        block_length: int,
        blocks: int,
        vocab_size: int,
        hidden_size: int,
        ff_mult: int = 4,
        dropout: float = 0.0,
    ):
        """`language`: the backbone language model's config (its depth and attention geometry)."""
        super().__init__()
        self.block_length, self.blocks, self.vocab_size = block_length, blocks, vocab_size
        self.transformer = LlamaModel(expert_config(language, hidden_size, ff_mult, dropout))
        self.queries = nn.Parameter(torch.randn(block_length, hidden_size) * 0.02)
        # Level b's codes feed block b + 1; each level has its own rows (the same code means another thing there).
        self.code_embedding = nn.Embedding((blocks - 1) * vocab_size, hidden_size) if blocks > 1 else None
        self.heads = nn.ModuleList(nn.Linear(hidden_size, vocab_size) for _ in range(blocks))

    def block_inputs(self, first: int, codes: Tensor | None, batch: int) -> Tensor:
        """Embeddings [B, count * block_length, d] of blocks first .. first + count - 1: the queries for block 0, the
        codes of level b - 1 for block b. `codes` [B, count - (first == 0), block_length] are those levels' codes."""
        parts = [self.queries.expand(batch, -1, -1)] if first == 0 else []
        if codes is not None and codes.shape[1]:
            first_level = max(first - 1, 0)  # block 0 reads no codes: block 1 reads level 0, and so on
            level = torch.arange(first_level, first_level + codes.shape[1], device=codes.device)
            parts.append(self.code_embedding(codes + (level * self.vocab_size)[None, :, None]).flatten(1, 2))
        return torch.cat(parts, 1)

    def run(self, context: PrefixContext, first: int, inputs: Tensor) -> Tensor:
        """Blocks first .. (appending their keys to the cache) -> hidden states [B, count * block_length, d]."""
        count = inputs.shape[1] // self.block_length
        earlier = first * self.block_length
        own = block_causal_mask([self.block_length] * count)
        mask = expert_attention_mask(context.mask, earlier, own, inputs.dtype)
        start = context.length + earlier
        positions = torch.arange(start, start + inputs.shape[1], device=inputs.device)[None]
        out = self.transformer(
            inputs_embeds=inputs,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=context.cache,
            use_cache=True,
        )
        return out.last_hidden_state

    def logits(self, hidden: Tensor, first: int) -> Tensor:
        """[B, count * block_length, d] -> [B, count, block_length, vocab_size], each block through its own head."""
        blocks = hidden.unflatten(1, (-1, self.block_length)).unbind(1)
        return torch.stack([self.heads[first + i](block) for i, block in enumerate(blocks)], 1)

    def forward(self, context: PrefixContext, codes: Tensor) -> Tensor:
        """Teacher forcing in one pass: codes [B, blocks, block_length] -> logits [B, blocks, block_length, V];
        block b sees the codes of levels < b only."""
        if codes.shape[1:] != (self.blocks, self.block_length):
            raise ValueError(f"codes shape={tuple(codes.shape)}: expected [B, {self.blocks}, {self.block_length}]")
        inputs = self.block_inputs(0, codes[:, :-1], len(codes))
        return self.logits(self.run(context, 0, inputs), 0)

    @torch.no_grad()
    def generate(
        self, context: PrefixContext, passes: int, temperature: float = 0.0, top_k: int | None = None
    ) -> Tensor:
        """Codes [B, passes, block_length]: pass b runs block b alone (the earlier blocks are in the cache) on the
        codes chosen by pass b - 1. One pass is parallel decoding of block 0. The context's cache is left holding
        the prefix alone, so the same context can be decoded again."""
        if not 1 <= passes <= self.blocks:
            raise ValueError(f"passes={passes}: expected 1..{self.blocks} (the expert's blocks)")
        batch = context.mask.shape[0]
        chosen: list[Tensor] = []
        for block in range(passes):
            previous = chosen[-1][:, None] if chosen else None
            hidden = self.run(context, block, self.block_inputs(block, previous, batch))
            logits = self.logits(hidden, block)[:, 0]
            codes = choose_tokens(logits.flatten(0, 1), temperature, top_k).view(batch, self.block_length)
            chosen.append(codes)
        keep_first(context.cache, context.length)
        return torch.stack(chosen, 1)
