"""`vqvla`: VQ-VLA's convolutional residual VQ-VAE (Wang et al., 2025; paper 002 of ../shared/papers).

- Every action value becomes a `channels`-wide feature, plus a sinusoidal time embedding (per step) and a
  learned action-type embedding (per dimension), giving a [B, C, T, D] map.
- 2D temporal convolutions downsample time by 2 per stage (`downsample_stages`); each remaining time
  position becomes one latent vector.
- Residual VQ (vector-quantize-pytorch: EMA codebooks, k-means init) with `levels` quantizers.
- Transposed 2D convolutions decode back to [B, T, D].
- Losses: L1 reconstruction and the VQ commitment.
- Token ids of level i are offset by i x codebook_size, the paper's non-overlapping layer ranges. A chunk
  is level 0 for every latent position, then level 1, and so on.

`VQVLATokenizer.fit` trains it on the given chunks in-process (what `actioncodec-bench` does with the
spec `vqvla`), with a progress bar; `lerobot-train --policy.type=peer_tokenizer --policy.arch=vqvla` trains it
on a LeRobot dataset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from vector_quantize_pytorch import ResidualVQ

from .learned import LearnedChunkTokenizer


@dataclass
class VQVLASettings:
    chunk_length: int
    action_dim: int
    channels: int = 64
    latent_dim: int = 64
    downsample_stages: int = 2  # time / 4 latent positions
    levels: int = 4
    codebook_size: int = 256  # the paper's per-layer range

    @property
    def padded_length(self) -> int:
        factor = 2**self.downsample_stages
        return math.ceil(self.chunk_length / factor) * factor

    @property
    def positions(self) -> int:
        return self.padded_length // 2**self.downsample_stages


def sinusoidal(length: int, dim: int) -> Tensor:
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class ConvResidualVQVAE(nn.Module):
    def __init__(self, s: VQVLASettings):
        super().__init__()
        self.s = s
        c = s.channels
        self.value = nn.Conv2d(1, c, 1)
        self.register_buffer("time", sinusoidal(s.padded_length, c).T[None, :, :, None], persistent=False)
        self.action_type = nn.Parameter(torch.randn(1, c, 1, s.action_dim) * 0.02)
        down: list[nn.Module] = []
        for _ in range(s.downsample_stages):
            down += [nn.Conv2d(c, c, (4, 3), stride=(2, 1), padding=(1, 1)), nn.GroupNorm(8, c), nn.GELU()]
        self.encoder = nn.Sequential(*down, nn.Conv2d(c, c, 3, padding=1))
        self.to_latent = nn.Linear(c * s.action_dim, s.latent_dim)
        self.quantizer = ResidualVQ(
            dim=s.latent_dim, num_quantizers=s.levels, codebook_size=s.codebook_size, kmeans_init=True, decay=0.95
        )
        self.from_latent = nn.Linear(s.latent_dim, c * s.action_dim)
        up: list[nn.Module] = []
        for _ in range(s.downsample_stages):
            up += [nn.ConvTranspose2d(c, c, (4, 3), stride=(2, 1), padding=(1, 1)), nn.GroupNorm(8, c), nn.GELU()]
        self.decoder = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.GELU(), *up, nn.Conv2d(c, 1, 3, padding=1))

    def encode_latents(self, normalized: Tensor) -> Tensor:
        """[B, T, D] -> [B, positions, latent_dim]."""
        pad = self.s.padded_length - self.s.chunk_length
        x = F.pad(normalized.transpose(1, 2), (0, pad), mode="replicate").transpose(1, 2)
        features = self.value(x.unsqueeze(1)) + self.time + self.action_type
        encoded = self.encoder(features)  # [B, C, positions, D]
        return self.to_latent(encoded.permute(0, 2, 1, 3).flatten(2))

    def decode_latents(self, latents: Tensor) -> Tensor:
        """[B, positions, latent_dim] -> [B, T, D]."""
        b, p, _ = latents.shape
        features = self.from_latent(latents).reshape(b, p, self.s.channels, self.s.action_dim).permute(0, 2, 1, 3)
        return self.decoder(features).squeeze(1)[:, : self.s.chunk_length]

    @property
    def codebook_size(self) -> int:
        return self.s.codebook_size

    @property
    def level_lengths(self) -> list[int]:
        return [self.s.positions] * self.s.levels

    def forward(self, normalized: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Reconstruction, code indices [B, positions, levels], commitment loss."""
        quantized, indices, commitment = self.quantizer(self.encode_latents(normalized))
        return self.decode_latents(quantized), indices, commitment.sum()

    def training_loss(self, normalized: Tensor) -> tuple[Tensor, dict[str, float]]:
        """L1 reconstruction plus the VQ commitment (the paper's objective)."""
        reconstruction, _, commitment = self(normalized)
        l1 = F.l1_loss(reconstruction, normalized)
        return l1 + commitment, {"loss_reconstruction": l1.item(), "loss_commitment": commitment.item()}

    def encode_codes(self, normalized: Tensor) -> list[Tensor]:
        _, indices, _ = self(normalized)
        return list(indices.unbind(-1))

    def decode_codes(self, codes: list[Tensor]) -> Tensor:
        """Missing finer levels are -1, which the residual quantizer leaves out of the sum."""
        indices = torch.stack(codes, -1)
        indices = F.pad(indices, (0, self.s.levels - len(codes)), value=-1)
        return self.decode_latents(self.quantizer.get_output_from_indices(indices))


class VQVLATokenizer(LearnedChunkTokenizer):
    kind = "vqvla"
    settings_class = VQVLASettings
    network_class = ConvResidualVQVAE
