"""ActionCodecNet: Perceiver encoder -> (residual) VQ -> Perceiver decoder (paper figure 2).

Chunks are [batch, time, max_action_dim] in *normalized* units, zero-padded past the embodiment's own
action dimension. Encoder and decoder have separate timestamp embeddings and soft prompts so that RVQ
post-training can freeze the encoder side entirely while the decoder side keeps learning.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .architecture import CodecArchitecture
from .embeddings import EmbodimentSoftPrompts, FourierTimeEmbedding, chunk_timestamps
from .perceiver import PerceiverDecoder, PerceiverEncoder
from .quantizers import ResidualActionQuantizer


@dataclass
class CodecOutput:
    reconstruction: Tensor  # [B, T, max_action_dim], normalized units
    latents: Tensor  # [B, n, dim], encoder output before quantization
    quantized: Tensor  # [B, n, dim]
    indices: Tensor  # [B, levels_used, n]
    vq_loss: Tensor  # scalar


class ActionCodecNet(nn.Module):
    def __init__(self, arch: CodecArchitecture):
        super().__init__()
        self.arch = arch
        d = arch.dim
        # encoder side
        self.action_in = nn.Linear(arch.max_action_dim, d)
        self.encoder_time = FourierTimeEmbedding(d, arch.fourier_bands)
        self.encoder_prompts = EmbodimentSoftPrompts(arch.num_embodiments, arch.num_prompt_tokens, d)
        self.encoder = PerceiverEncoder(
            d, arch.num_tokens, arch.encoder_layers, arch.num_heads, arch.ff_mult, arch.dropout, arch.token_mixing
        )
        self.to_latent = nn.Linear(d, d)
        self.quantizer = ResidualActionQuantizer(
            d,
            arch.codebook_size,
            arch.codebook_dim,
            levels=arch.rvq_levels,
            decay=arch.vq_decay,
            commitment_weight=arch.commitment_weight,
            kmeans_init=arch.kmeans_init,
            threshold_ema_dead_code=arch.threshold_ema_dead_code,
        )
        # decoder side
        self.decoder_time = FourierTimeEmbedding(d, arch.fourier_bands)
        self.decoder_prompts = EmbodimentSoftPrompts(arch.num_embodiments, arch.num_prompt_tokens, d)
        self.latent_position = nn.Parameter(torch.randn(arch.num_tokens, d) * 0.02)
        self.decoder = PerceiverDecoder(d, arch.decoder_layers, arch.num_heads, arch.ff_mult, arch.dropout)
        self.action_out = nn.Linear(d, arch.max_action_dim)

    def encoder_modules(self) -> list[nn.Module]:
        return [self.action_in, self.encoder_time, self.encoder_prompts, self.encoder, self.to_latent]

    def encode_latents(self, actions: Tensor, fps: float, embodiment_index: int) -> Tensor:
        """actions [B, T, max_action_dim] (normalized) -> continuous latents Z [B, n, dim]."""
        batch, steps, _ = actions.shape
        tokens = self.action_in(actions) + self.encoder_time(chunk_timestamps(steps, fps, actions.device))
        context = torch.cat([self.encoder_prompts(embodiment_index, batch), tokens], dim=1)
        return self.to_latent(self.encoder(context))

    def encode_indices(self, actions: Tensor, fps: float, embodiment_index: int, depth: int | None = None) -> Tensor:
        """actions [B, T, max_action_dim] (normalized) -> token ids [B, depth, n] (all levels by default)."""
        return self.quantizer(self.encode_latents(actions, fps, embodiment_index), depth=depth).indices

    def decode_quantized(self, quantized: Tensor, num_steps: int, fps: float, embodiment_index: int) -> Tensor:
        """quantized [B, n, dim] -> chunk [B, num_steps, max_action_dim] (normalized)."""
        batch = quantized.shape[0]
        queries = self.decoder_time(chunk_timestamps(num_steps, fps, quantized.device))
        queries = queries.unsqueeze(0).expand(batch, -1, -1)
        context = torch.cat([self.decoder_prompts(embodiment_index, batch), quantized + self.latent_position], dim=1)
        return self.action_out(self.decoder(queries, context))

    def decode_indices(self, indices: Tensor, num_steps: int, fps: float, embodiment_index: int) -> Tensor:
        """indices [B, levels_used, n] -> chunk [B, num_steps, max_action_dim] (normalized)."""
        return self.decode_quantized(self.quantizer.dequantize(indices), num_steps, fps, embodiment_index)

    def forward(self, actions: Tensor, fps: float, embodiment_index: int, depth: int | None = None) -> CodecOutput:
        latents = self.encode_latents(actions, fps, embodiment_index)
        q = self.quantizer(latents, depth=depth)
        reconstruction = self.decode_quantized(q.quantized, actions.shape[1], fps, embodiment_index)
        return CodecOutput(reconstruction, latents, q.quantized, q.indices, q.loss)

    def freeze_encoder_and_first_level(self) -> None:
        """RVQ post-training (appendix C): only the residual codebooks and the decoder side keep learning."""
        for module in self.encoder_modules():
            module.requires_grad_(False)
        self.quantizer.freeze_levels(1)
        self.train(self.training)

    def train(self, mode: bool = True) -> ActionCodecNet:
        super().train(mode)
        if self.quantizer.frozen_levels:
            for module in self.encoder_modules():
                module.eval()
        return self
