"""`compact` backbone: a small conv image encoder and a causal transformer over action tokens, for CPU training.

Sequence: [camera patches | state | task text | BOS | a_0 ... a_{n-2}], with next-token logits over the S codes
read at BOS and at every action position, so the loss covers the n action tokens only. The decoder is
transformers' Llama (RoPE, causal attention, KV cache) fed with embeddings. Built with `codebook_size=None` it
only encodes the prefix, whose KV cache an action expert (PD, BAR) reads.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from transformers import DynamicCache, LlamaConfig, LlamaModel

from ..decoding import DecodingRule, decode_autoregressively
from ..text_encoders import HashingTextEncoder
from .action_expert import PrefixContext, keep_first

PATCH = 16  # the image encoder downsamples by 16: a 128 x 128 camera gives 8 x 8 patch tokens


class ConvImageEncoder(nn.Module):
    """[B, 3, H, W] images in [0, 1] -> [B, (H/16) * (W/16), d] patch tokens with learned positions."""

    def __init__(self, hidden_size: int, height: int, width: int):
        super().__init__()
        if height % PATCH or width % PATCH:
            raise ValueError(f"image size {height}x{width}: expected multiples of {PATCH}")
        layers: list[nn.Module] = []
        for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.GroupNorm(8, c_out), nn.GELU()]
        layers.append(nn.Conv2d(128, hidden_size, 4, stride=2, padding=1))  # the projection to tokens
        self.net = nn.Sequential(*layers)
        self.position = nn.Parameter(torch.zeros(1, (height // PATCH) * (width // PATCH), hidden_size))
        nn.init.normal_(self.position, std=0.02)

    def forward(self, images: Tensor) -> Tensor:
        features = self.net(images * 2 - 1)  # [B, d, H/16, W/16]
        return features.flatten(2).transpose(1, 2) + self.position


class CompactBackbone(nn.Module):
    def __init__(
        self,
        codebook_size: int | None,
        num_action_tokens: int,
        state_dim: int,
        image_height: int,
        image_width: int,
        hidden_size: int = 256,
        num_layers: int = 4,
        num_heads: int = 4,
        ff_mult: int = 4,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.codebook_size, self.num_action_tokens = codebook_size, num_action_tokens
        self.images = ConvImageEncoder(hidden_size, image_height, image_width)
        self.state = nn.Linear(state_dim, hidden_size) if state_dim else None
        self.task = HashingTextEncoder(hidden_size)
        if codebook_size is not None:
            self.action_embedding = nn.Embedding(codebook_size + 1, hidden_size)  # the last row is BOS
        self.prefix_norm = nn.LayerNorm(hidden_size)
        prefix_length = self.images.position.shape[1] + (1 if state_dim else 0) + 1
        self.decoder = LlamaModel(
            LlamaConfig(
                vocab_size=1,  # inputs are embeddings; the token table is unused
                hidden_size=hidden_size,
                intermediate_size=hidden_size * ff_mult,
                num_hidden_layers=num_layers,
                num_attention_heads=num_heads,
                num_key_value_heads=num_heads,
                max_position_embeddings=prefix_length + num_action_tokens + 1,
                attention_dropout=dropout,
            )
        )
        if codebook_size is not None:
            self.head = nn.Linear(hidden_size, codebook_size)

    @property
    def language_config(self) -> LlamaConfig:
        """The decoder's config: what an action expert reading its cache must match."""
        return self.decoder.config

    def prefix(self, images: Tensor, state: Tensor | None, tasks: list[str]) -> Tensor:
        """[B, P, d]: camera patches, then the state token (if any), then the task token."""
        parts = [self.images(images)]
        if self.state is not None:
            if state is None:
                raise ValueError("observation.state is missing: this policy was trained with a state input")
            parts.append(self.state(state.float()).unsqueeze(1))
        parts.append(self.task(list(tasks)).to(images.device).unsqueeze(1))
        return self.prefix_norm(torch.cat(parts, dim=1))

    def encode_prefix(self, prefix: Tensor) -> PrefixContext:
        """The decoder over the prefix alone: its KV cache (kept in the autograd graph) for an action expert."""
        cache = DynamicCache()
        self.decoder(inputs_embeds=prefix, past_key_values=cache, use_cache=True)
        return PrefixContext(cache, torch.ones(prefix.shape[:2], dtype=torch.bool, device=prefix.device))

    def _bos(self, batch: int, device: torch.device) -> Tensor:
        ids = torch.full((batch, 1), self.codebook_size, dtype=torch.long, device=device)
        return self.action_embedding(ids)

    def forward(self, prefix: Tensor, tokens: Tensor, cache: DynamicCache | None = None) -> Tensor:
        """Teacher forcing: prefix [B, P, d], target tokens [B, n] -> logits [B, n, S] (position i predicts a_i).
        With `cache`, the pass writes its keys and values there (forward_with_context)."""
        inputs = torch.cat([prefix, self._bos(len(prefix), prefix.device), self.action_embedding(tokens[:, :-1])], 1)
        hidden = self.decoder(inputs_embeds=inputs, past_key_values=cache, use_cache=cache is not None)
        return self.head(hidden.last_hidden_state[:, prefix.shape[1] :])

    def forward_with_context(self, prefix: Tensor, tokens: Tensor) -> tuple[Tensor, PrefixContext]:
        """Teacher forcing as `forward`, and the prefix's KV cache from the same pass (causal attention: the
        prefix's keys do not depend on the action tokens after it), for an expert trained beside the tokens."""
        cache = DynamicCache()
        logits = self(prefix, tokens, cache)
        keep_first(cache, prefix.shape[1])
        return logits, PrefixContext(cache, torch.ones(prefix.shape[:2], dtype=torch.bool, device=prefix.device))

    @torch.no_grad()
    def generate(
        self,
        prefix: Tensor,
        temperature: float = 0.0,
        top_k: int | None = None,
        stop_token: int | None = None,
        rule: DecodingRule | None = None,
    ) -> Tensor:
        """n ids [B, n] over the action vocabulary, decoded with a KV cache (ending early at `stop_token`,
        constrained by `rule`)."""
        cache = DynamicCache()

        def next_logits(previous: Tensor | None) -> Tensor:
            if previous is None:
                step_input = torch.cat([prefix, self._bos(len(prefix), prefix.device)], 1)
            else:
                step_input = self.action_embedding(previous).unsqueeze(1)
            hidden = self.decoder(inputs_embeds=step_input, past_key_values=cache, use_cache=True).last_hidden_state
            return self.head(hidden[:, -1])

        return decode_autoregressively(next_logits, self.num_action_tokens, temperature, top_k, stop_token, rule)
