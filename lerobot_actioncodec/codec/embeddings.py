"""Timestamp and embodiment embeddings.

Positions are real timestamps in seconds (not step indices), so chunks recorded at different control
frequencies share one positional code: step 10 at 20 Hz and step 15 at 30 Hz are both t = 0.5 s.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class FourierTimeEmbedding(nn.Module):
    """sin/cos features of timestamps at geometrically spaced frequencies, projected to `dim`."""

    def __init__(self, dim: int, num_bands: int = 16, min_freq_hz: float = 0.25, max_freq_hz: float = 32.0):
        super().__init__()
        freqs = torch.exp(torch.linspace(math.log(min_freq_hz), math.log(max_freq_hz), num_bands))
        self.register_buffer("freqs_hz", freqs, persistent=False)
        self.proj = nn.Linear(2 * num_bands + 1, dim)

    def forward(self, timestamps_s: Tensor) -> Tensor:
        """[T] or [B, T] seconds -> [..., T, dim]."""
        angles = 2 * math.pi * timestamps_s.unsqueeze(-1) * self.freqs_hz
        features = torch.cat([timestamps_s.unsqueeze(-1), angles.sin(), angles.cos()], dim=-1)
        return self.proj(features)


def chunk_timestamps(num_steps: int, fps: float, device: torch.device | None = None) -> Tensor:
    """Timestamps (s) of the steps of a chunk sampled at `fps`: 0, 1/fps, ..., (num_steps-1)/fps."""
    return torch.arange(num_steps, device=device, dtype=torch.float32) / float(fps)


class EmbodimentSoftPrompts(nn.Module):
    """One learnable block of `num_tokens` prompt vectors per embodiment (paper appendix B)."""

    def __init__(self, num_embodiments: int, num_tokens: int, dim: int):
        super().__init__()
        self.prompts = nn.Parameter(torch.randn(num_embodiments, num_tokens, dim) * 0.02)

    @property
    def num_embodiments(self) -> int:
        return self.prompts.shape[0]

    def forward(self, embodiment_index: int, batch_size: int) -> Tensor:
        """-> [batch_size, num_tokens, dim]"""
        return self.prompts[embodiment_index].unsqueeze(0).expand(batch_size, -1, -1)
