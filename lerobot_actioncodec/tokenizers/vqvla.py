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
spec `vqvla`), with a progress bar.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from tqdm import tqdm
from vector_quantize_pytorch import ResidualVQ

from .interface import DecodedChunks, TokenSequences, check_chunks, read_config, write_config

WEIGHTS_FILE = "model.safetensors"


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

    def forward(self, normalized: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Reconstruction, code indices [B, positions, levels], commitment loss."""
        quantized, indices, commitment = self.quantizer(self.encode_latents(normalized))
        return self.decode_latents(quantized), indices, commitment.sum()


class VQVLATokenizer:
    kind = "vqvla"

    def __init__(self, settings: VQVLASettings, mean: Tensor, std: Tensor, model: ConvResidualVQVAE | None = None):
        self.settings = settings
        self.chunk_length, self.action_dim = settings.chunk_length, settings.action_dim
        self.mean, self.std = mean.float(), std.float().clamp_min(1e-6)
        self.model = (model or ConvResidualVQVAE(settings)).eval()

    @classmethod
    def fit(
        cls,
        chunks: Tensor,
        steps: int = 300,
        batch_size: int = 128,
        lr: float = 1e-3,
        seed: int = 0,
        **architecture: int,
    ) -> VQVLATokenizer:
        """Train on chunks [N, T, D] (raw units) for `steps` AdamW steps of L1 reconstruction + commitment."""
        if chunks.ndim != 3:
            raise ValueError(f"chunks shape={tuple(chunks.shape)}: expected [N, T, D]")
        if steps < 1:
            raise ValueError(f"steps={steps}: expected >= 1")
        torch.manual_seed(seed)
        settings = VQVLASettings(chunks.shape[1], chunks.shape[2], **architecture)
        flat = chunks.reshape(-1, chunks.shape[-1]).float()
        tokenizer = cls(settings, flat.mean(0), flat.std(0))
        normalized = tokenizer._normalize(chunks)
        model = tokenizer.model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        generator = torch.Generator().manual_seed(seed)
        for _ in tqdm(range(steps), desc="vqvla fit", leave=False):
            batch = normalized[torch.randint(len(normalized), (batch_size,), generator=generator)]
            reconstruction, _, commitment = model(batch)
            loss = F.l1_loss(reconstruction, batch) + commitment
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        return tokenizer

    def _normalize(self, actions: Tensor) -> Tensor:
        return (actions.float() - self.mean) / self.std

    @property
    def vocab_size(self) -> int:
        return self.settings.levels * self.settings.codebook_size

    @property
    def fixed_length(self) -> int:
        return self.settings.levels * self.settings.positions

    @torch.no_grad()
    def encode(self, actions: Tensor) -> TokenSequences:
        check_chunks(actions, self.chunk_length, self.action_dim)
        _, indices, _ = self.model(self._normalize(actions))  # [B, positions, levels]
        offsets = torch.arange(self.settings.levels) * self.settings.codebook_size
        return TokenSequences.fixed((indices + offsets).transpose(1, 2).reshape(len(actions), -1))

    @torch.no_grad()
    def decode(self, tokens: TokenSequences) -> DecodedChunks:
        """A wrong length is padded (with each level's code 0) or truncated; an id outside its level's range
        is folded into it (id mod codebook_size); both flag the row as repaired."""
        s = self.settings
        length, ids = self.fixed_length, tokens.ids
        level_of_position = torch.arange(length) // s.positions
        grid = torch.zeros(len(ids), length, dtype=torch.long)
        width = min(length, ids.shape[1])
        grid[:, :width] = ids[:, :width]
        present = torch.arange(length) < tokens.lengths[:, None]
        grid = torch.where(present, grid, level_of_position * s.codebook_size)
        in_range = (grid // s.codebook_size == level_of_position) & (grid >= 0)
        repaired = (tokens.lengths != length) | ~in_range.all(1)
        codes = grid.remainder(s.codebook_size).reshape(len(ids), s.levels, s.positions).transpose(1, 2)
        latents = self.model.quantizer.get_output_from_indices(codes)
        actions = self.model.decode_latents(latents) * self.std + self.mean
        return DecodedChunks(actions, repaired)

    def save_pretrained(self, path: str | Path) -> None:
        settings = {**asdict(self.settings), "mean": self.mean.tolist(), "std": self.std.tolist()}
        directory = write_config(path, self.kind, settings)
        save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(directory / WEIGHTS_FILE))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> VQVLATokenizer:
        config = read_config(path, cls.kind)
        mean, std = torch.tensor(config.pop("mean")), torch.tensor(config.pop("std"))
        config.pop("kind")
        settings = VQVLASettings(**config)
        model = ConvResidualVQVAE(settings)
        model.load_state_dict(load_file(str(Path(path) / WEIGHTS_FILE)))
        return cls(settings, mean, std, model)
