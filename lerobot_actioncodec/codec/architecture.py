"""Hyper-parameters of the ActionCodec network (kept apart so configs can import them cheaply)."""

from __future__ import annotations

from dataclasses import dataclass

from .perceiver import TokenMixing


@dataclass
class CodecArchitecture:
    max_action_dim: int
    num_embodiments: int = 1
    num_tokens: int = 16
    codebook_size: int = 2048
    codebook_dim: int = 16
    dim: int = 128
    num_heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    ff_mult: int = 4
    dropout: float = 0.0
    token_mixing: TokenMixing = "independent"
    num_prompt_tokens: int = 4
    fourier_bands: int = 16
    rvq_levels: int = 1
    vq_decay: float = 0.99
    commitment_weight: float = 0.25
    kmeans_init: bool = True
    threshold_ema_dead_code: float = 0.1
