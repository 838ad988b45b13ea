"""`vqvla`: VQ-VLA's convolutional residual VQ-VAE (Wang et al., 2025; paper 002 of ../shared/papers).

- Every action value becomes a `channels`-wide feature, plus a sinusoidal time embedding (per step) and a
  learned action-type embedding (per dimension), giving a [B, C, T, D] map.
- 2D temporal convolutions downsample time by 2 per stage (`downsample_stages`). By default each remaining time
  position becomes one latent vector (T / 4 of them); `whole_chunk=True` flattens them into one latent vector
  per chunk, as the paper and its official code do (`levels` tokens per chunk: 4 at the paper's 4 x 256).
- Residual VQ (vector-quantize-pytorch: EMA codebooks, k-means init) with `levels` quantizers.
- Transposed 2D convolutions decode back to [B, T, D].
- Losses: reconstruction (`reconstruction_loss`) plus `commitment_weight` x the VQ commitment. The defaults, L1
  and 1, are this package's; the paper's objective is the squared error with lambda = 4 (eq. 1; its code uses
  5): `reconstruction_loss="mse", commitment_weight=4`.
- The paper's tokenizer sees 5-step windows; at the package's longer chunks one latent per 4 steps keeps the
  reconstruction comparable with the other learned tokenizers (docs/benchmark.md measures both layouts).
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
    whole_chunk: bool = False  # True: one latent vector per chunk (the paper); False: one per 2**stages steps
    reconstruction_loss: str = "l1"  # "l1" | "mse" (the paper's)
    commitment_weight: float = 1.0  # the paper: 4

    def __post_init__(self) -> None:
        if self.reconstruction_loss not in RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"reconstruction_loss={self.reconstruction_loss!r}: expected one of {sorted(RECONSTRUCTION_LOSSES)}"
            )
        if self.commitment_weight < 0:
            raise ValueError(f"commitment_weight={self.commitment_weight}: expected >= 0")

    @property
    def padded_length(self) -> int:
        factor = 2**self.downsample_stages
        return math.ceil(self.chunk_length / factor) * factor

    @property
    def positions(self) -> int:
        """Time positions after the convolutions."""
        return self.padded_length // 2**self.downsample_stages

    @property
    def latent_positions(self) -> int:
        """Latent vectors (tokens per level) per chunk."""
        return 1 if self.whole_chunk else self.positions


def sinusoidal(length: int, dim: int) -> Tensor:
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10_000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


RECONSTRUCTION_LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


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
        features_per_latent = c * s.action_dim * s.positions // s.latent_positions
        self.to_latent = nn.Linear(features_per_latent, s.latent_dim)
        self.quantizer = ResidualVQ(
            dim=s.latent_dim, num_quantizers=s.levels, codebook_size=s.codebook_size, kmeans_init=True, decay=0.95
        )
        self.from_latent = nn.Linear(s.latent_dim, features_per_latent)
        up: list[nn.Module] = []
        for _ in range(s.downsample_stages):
            up += [nn.ConvTranspose2d(c, c, (4, 3), stride=(2, 1), padding=(1, 1)), nn.GroupNorm(8, c), nn.GELU()]
        self.decoder = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.GELU(), *up, nn.Conv2d(c, 1, 3, padding=1))

    def encode_latents(self, normalized: Tensor) -> Tensor:
        """[B, T, D] -> [B, latent_positions, latent_dim]."""
        pad = self.s.padded_length - self.s.chunk_length
        x = F.pad(normalized.transpose(1, 2), (0, pad), mode="replicate").transpose(1, 2)
        features = self.value(x.unsqueeze(1)) + self.time + self.action_type
        encoded = self.encoder(features)  # [B, C, positions, D]
        per_position = encoded.permute(0, 2, 1, 3).flatten(2)  # [B, positions, C * D]
        return self.to_latent(per_position.reshape(len(per_position), self.s.latent_positions, -1))

    def decode_latents(self, latents: Tensor) -> Tensor:
        """[B, latent_positions, latent_dim] -> [B, T, D]."""
        shape = (len(latents), self.s.positions, self.s.channels, self.s.action_dim)
        features = self.from_latent(latents).reshape(shape).permute(0, 2, 1, 3)
        return self.decoder(features).squeeze(1)[:, : self.s.chunk_length]

    @property
    def codebook_size(self) -> int:
        return self.s.codebook_size

    @property
    def level_lengths(self) -> list[int]:
        return [self.s.latent_positions] * self.s.levels

    def forward(self, normalized: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Reconstruction, code indices [B, positions, levels], commitment loss."""
        quantized, indices, commitment = self.quantizer(self.encode_latents(normalized))
        return self.decode_latents(quantized), indices, commitment.sum()

    def training_loss(self, normalized: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Reconstruction (`reconstruction_loss`) plus `commitment_weight` x the VQ commitment."""
        reconstruction, _, commitment = self(normalized)
        error = RECONSTRUCTION_LOSSES[self.s.reconstruction_loss](reconstruction, normalized)
        loss = error + self.s.commitment_weight * commitment
        return loss, {"loss_reconstruction": error.item(), "loss_commitment": commitment.item()}

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
