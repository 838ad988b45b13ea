"""`nac`: the Neural Action Codec (paper 003 of ../shared/papers), a multi-scale RVQGAN for action chunks.

- The standardized chunk [B, T, D] is flattened into a 1-channel pseudo-waveform of length T x D (zero-padded
  to a multiple of the total downsampling, and cropped again after decoding).
- SEANet encoder: 1D convolutions with weight norm, ELU, reflection padding, residual units (dilations 1 and 3)
  and strided downsampling by `ratios` (the hop length is their product).
- Multi-scale RVQ: stage s average-pools the residual by `vq_strides[s]` before its codebook (EMA updates,
  k-means init, vector-quantize-pytorch), then upsamples and subtracts; coarse stages first.
- Vocos decoder: a Conv1D embedding, ResNet blocks with self-attention, a stack of ConvNeXt blocks, and an ISTFT
  head predicting magnitude and phase with the encoder's hop length.
- DAC-style discriminator: multi-period sub-discriminators plus complex-STFT ones at several resolutions.
- Objective (eq. 5, no mel loss): MSE + commitment_weight x commitment (paper: 1000) + least-squares adversarial
  loss with DAC's feature matching; the discriminator's own loss is added on detached reconstructions while the
  generator's adversarial term sees frozen discriminator weights, so one optimizer step is the paper's
  alternating generator/discriminator update and lerobot-train's single optimizer trains it as is.
Token ids use NAC's offset codebooks: stage s's ids lie in [s x codebook_size, (s + 1) x codebook_size).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm
from vector_quantize_pytorch import VectorQuantize

from .learned import LearnedChunkTokenizer


@dataclass
class NACSettings:
    chunk_length: int
    action_dim: int
    channels: int = 16  # SEANet's first width, doubled at each downsampling
    ratios: tuple[int, ...] = (2, 2, 2, 2)  # hop length 16
    latent_dim: int = 64  # paper: 512
    vq_strides: tuple[int, ...] = (2, 1)  # the paper's 2-scale RVQ: a coarse stage at half the latent rate
    codebook_size: int = 256  # paper: 1024
    decoder_dim: int = 128
    convnext_layers: int = 4  # paper: 12
    commitment_weight: float = 1000.0  # the paper's aggressive scaling
    adversarial_weight: float = 1.0
    feature_matching_weight: float = 2.0  # DAC's
    periods: tuple[int, ...] = (2, 3, 5)
    stft_sizes: tuple[int, ...] = (16, 32)

    def __post_init__(self) -> None:
        self.ratios, self.vq_strides = tuple(self.ratios), tuple(self.vq_strides)
        self.periods, self.stft_sizes = tuple(self.periods), tuple(self.stft_sizes)
        for name in ("chunk_length", "action_dim", "channels", "latent_dim", "codebook_size", "decoder_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: expected >= 1")
        for name in ("ratios", "vq_strides", "periods", "stft_sizes"):
            values = getattr(self, name)
            if not values or min(values) < 1:
                raise ValueError(f"{name}={values}: expected a non-empty list of integers >= 1")

    @property
    def hop(self) -> int:
        return math.prod(self.ratios)

    @property
    def signal_length(self) -> int:
        """T x D padded up to a multiple of hop x every pooling stride (the paper requires divisibility)."""
        multiple = self.hop * math.lcm(*self.vq_strides)
        return math.ceil(self.chunk_length * self.action_dim / multiple) * multiple

    @property
    def latent_length(self) -> int:
        return self.signal_length // self.hop


def conv1d(c_in: int, c_out: int, kernel: int, stride: int = 1, dilation: int = 1) -> nn.Module:
    """A weight-normed conv with reflection padding that keeps length / stride."""
    padding = math.ceil(stride / 2) if stride > 1 else dilation * (kernel - 1) // 2
    conv = nn.Conv1d(c_in, c_out, kernel, stride, padding, dilation, padding_mode="reflect")
    return weight_norm(conv)


class ResidualUnit(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.ELU(),
            conv1d(channels, channels // 2, 3, dilation=dilation),
            nn.ELU(),
            conv1d(channels // 2, channels, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class SEANetEncoder(nn.Module):
    """[B, 1, L] -> [B, latent_dim, L / hop]."""

    def __init__(self, s: NACSettings):
        super().__init__()
        layers: list[nn.Module] = [conv1d(1, s.channels, 7)]
        width = s.channels
        for ratio in s.ratios:
            layers += [
                ResidualUnit(width, 1),
                ResidualUnit(width, 3),
                nn.ELU(),
                conv1d(width, 2 * width, 2 * ratio, ratio),
            ]
            width *= 2
        layers += [nn.ELU(), conv1d(width, s.latent_dim, 3)]
        self.net = nn.Sequential(*layers)

    def forward(self, signal: Tensor) -> Tensor:
        return self.net(signal)


class MultiScaleRVQ(nn.Module):
    """Stage s quantizes the residual average-pooled by vq_strides[s]; upsampled codes are subtracted."""

    def __init__(self, s: NACSettings):
        super().__init__()
        self.strides = s.vq_strides
        self.stages = nn.ModuleList(
            VectorQuantize(dim=s.latent_dim, codebook_size=s.codebook_size, decay=0.99, kmeans_init=True,
                           commitment_weight=1.0)
            for _ in s.vq_strides
        )  # fmt: skip

    def forward(self, latents: Tensor) -> tuple[Tensor, list[Tensor], Tensor]:
        """[B, C, T'] -> quantized [B, C, T'], codes per stage [B, T' / stride], summed commitment loss."""
        residual, total, codes, commitment = latents, torch.zeros_like(latents), [], latents.new_zeros(())
        for stride, stage in zip(self.strides, self.stages, strict=True):
            pooled = F.avg_pool1d(residual, stride) if stride > 1 else residual
            quantized, indices, loss = stage(pooled.transpose(1, 2))
            upsampled = quantized.transpose(1, 2).repeat_interleave(stride, dim=-1)
            residual, total = residual - upsampled, total + upsampled
            codes.append(indices)
            commitment = commitment + loss.sum()
        return total, codes, commitment

    def from_codes(self, codes: list[Tensor]) -> Tensor:
        """The first k stages' codes (k <= stages): the finer stages are left out of the sum."""
        parts = [
            stage.get_output_from_indices(c).transpose(1, 2).repeat_interleave(stride, dim=-1)
            for stride, stage, c in zip(self.strides, self.stages, codes)
        ]
        return torch.stack(parts).sum(0)


class ResnetBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.GroupNorm(8, dim), nn.SiLU(), nn.Conv1d(dim, dim, 3, padding=1),
            nn.GroupNorm(8, dim), nn.SiLU(), nn.Conv1d(dim, dim, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.net(x)


class AttentionBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.GroupNorm(8, dim)
        self.attention = nn.MultiheadAttention(dim, num_heads=1, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(x).transpose(1, 2)
        return x + self.attention(h, h, h, need_weights=False)[0].transpose(1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, layer_scale: float = 1e-2):
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 3 * dim), nn.GELU(), nn.Linear(3 * dim, dim))
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: Tensor) -> Tensor:
        h = self.mlp(self.norm(self.depthwise(x).transpose(1, 2)))
        return x + (self.gamma * h).transpose(1, 2)


def istft_same(spectrum: Tensor, hop: int, window: Tensor) -> Tensor:
    """Vocos' "same"-padded inverse STFT: [B, n_fft / 2 + 1, T'] -> [B, T' x hop]. Overlap-add of the windowed
    inverse FFTs, trimmed by (n_fft - hop) / 2 on each side, divided by the squared-window envelope; it inverts
    a center=False STFT of the signal reflect-padded by that same amount."""
    n_fft, count = len(window), spectrum.shape[-1]
    pieces = torch.fft.irfft(spectrum, n_fft, dim=1) * window[None, :, None]  # [B, n_fft, T']
    pad, size = (n_fft - hop) // 2, (count - 1) * hop + n_fft
    fold = dict(output_size=(1, size), kernel_size=(1, n_fft), stride=(1, hop))
    signal = F.fold(pieces, **fold)[:, 0, 0, pad : size - pad]
    envelope = F.fold(window.square()[None, :, None].expand(1, -1, count), **fold)[0, 0, 0, pad : size - pad]
    return signal / envelope.clamp_min(1e-6)


class ISTFTHead(nn.Module):
    """Frames [B, T', dim] -> magnitude and phase of an n_fft = 4 x hop spectrum -> signal [B, T' x hop]."""

    def __init__(self, dim: int, hop: int):
        super().__init__()
        self.hop, self.n_fft = hop, 4 * hop
        self.project = nn.Linear(dim, self.n_fft + 2)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)

    def forward(self, frames: Tensor) -> Tensor:
        magnitude, phase = self.project(frames).transpose(1, 2).chunk(2, dim=1)  # [B, n_fft / 2 + 1, T'] each
        return istft_same(torch.polar(magnitude.exp().clamp(max=100.0), phase), self.hop, self.window)


class VocosDecoder(nn.Module):
    """[B, latent_dim, T'] -> [B, 1, T' x hop]."""

    def __init__(self, s: NACSettings):
        super().__init__()
        d = s.decoder_dim
        self.embed = nn.Conv1d(s.latent_dim, d, 7, padding=3)
        self.resnet = nn.Sequential(ResnetBlock(d), AttentionBlock(d), ResnetBlock(d))
        self.norm = nn.LayerNorm(d)
        self.convnext = nn.Sequential(*(ConvNeXtBlock(d) for _ in range(s.convnext_layers)))
        self.final_norm = nn.LayerNorm(d)
        self.head = ISTFTHead(d, s.hop)

    def forward(self, latents: Tensor) -> Tensor:
        x = self.resnet(self.embed(latents))
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        x = self.final_norm(self.convnext(x).transpose(1, 2))
        return self.head(x).unsqueeze(1)


def conv2d(c_in: int, c_out: int, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1)) -> nn.Module:
    return weight_norm(nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel[0] // 2, kernel[1] // 2)))


class ConvStack(nn.Module):
    """Leaky-ReLU conv layers, then a 1-channel score map; returns the score and every layer's features (for
    DAC's feature-matching loss)."""

    def __init__(self, layers: list[nn.Module], out: nn.Module):
        super().__init__()
        self.layers, self.out = nn.ModuleList(layers), out

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        features = []
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.1)
            features.append(x)
        return self.out(x), features


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN's: the signal folded into [L / period, period] columns, 2D convs along time."""

    def __init__(self, period: int, width: int = 16):
        super().__init__()
        self.period = period
        layers = [conv2d(1, width, (5, 1), (3, 1)), conv2d(width, 2 * width, (5, 1), (3, 1)),
                  conv2d(2 * width, 2 * width, (3, 1))]  # fmt: skip
        self.convs = ConvStack(layers, conv2d(2 * width, 1, (3, 1)))

    def forward(self, signal: Tensor) -> tuple[Tensor, list[Tensor]]:
        x = F.pad(signal, (0, (-signal.shape[-1]) % self.period), mode="reflect")
        return self.convs(x.reshape(len(x), 1, -1, self.period))


class STFTDiscriminator(nn.Module):
    """DAC's complex-spectrogram discriminator: real and imaginary parts as 2 channels, 2D convs."""

    def __init__(self, n_fft: int, width: int = 16):
        super().__init__()
        self.n_fft = n_fft
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        layers = [conv2d(2, width, (3, 3)), conv2d(width, width, (3, 3), (1, 2)), conv2d(width, width, (3, 3), (1, 2))]
        self.convs = ConvStack(layers, conv2d(width, 1, (3, 3)))

    def forward(self, signal: Tensor) -> tuple[Tensor, list[Tensor]]:
        spectrum = torch.stft(signal.squeeze(1), self.n_fft, self.n_fft // 4, window=self.window, return_complex=True)
        return self.convs(torch.view_as_real(spectrum).permute(0, 3, 2, 1))  # [B, 2, frames, freqs]


class DACDiscriminator(nn.Module):
    def __init__(self, s: NACSettings):
        super().__init__()
        self.parts = nn.ModuleList(
            [*(PeriodDiscriminator(p) for p in s.periods), *(STFTDiscriminator(n) for n in s.stft_sizes)]
        )

    def forward(self, signal: Tensor) -> list[tuple[Tensor, list[Tensor]]]:
        return [part(signal) for part in self.parts]


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """No gradient reaches `module`'s weights inside (the generator's adversarial pass)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


class NeuralActionCodec(nn.Module):
    def __init__(self, s: NACSettings):
        super().__init__()
        self.s = s
        self.encoder = SEANetEncoder(s)
        self.quantizer = MultiScaleRVQ(s)
        self.decoder = VocosDecoder(s)
        self.discriminator = DACDiscriminator(s)

    @property
    def codebook_size(self) -> int:
        return self.s.codebook_size

    @property
    def level_lengths(self) -> list[int]:
        return [self.s.latent_length // stride for stride in self.s.vq_strides]

    def to_signal(self, normalized: Tensor) -> Tensor:
        """[B, T, D] -> the zero-padded pseudo-waveform [B, 1, L]."""
        flat = normalized.reshape(len(normalized), 1, -1)
        return F.pad(flat, (0, self.s.signal_length - flat.shape[-1]))

    def from_signal(self, signal: Tensor) -> Tensor:
        steps = self.s.chunk_length * self.s.action_dim
        return signal[:, 0, :steps].reshape(len(signal), self.s.chunk_length, self.s.action_dim)

    def forward(self, normalized: Tensor) -> tuple[Tensor, Tensor, list[Tensor], Tensor]:
        """Signal [B, 1, L], its reconstruction, codes per stage, commitment loss."""
        signal = self.to_signal(normalized)
        quantized, codes, commitment = self.quantizer(self.encoder(signal))
        return signal, self.decoder(quantized), codes, commitment

    def training_loss(self, normalized: Tensor) -> tuple[Tensor, dict[str, float]]:
        s = self.s
        signal, reconstruction, _, commitment = self(normalized)
        mse = F.mse_loss(reconstruction, signal)
        real = self.discriminator(signal)
        with frozen(self.discriminator):
            fake = self.discriminator(reconstruction)
        adversarial = sum(((score - 1) ** 2).mean() for score, _ in fake)
        matching = sum(
            F.l1_loss(f, r.detach()) for (_, fake_maps), (_, real_maps) in zip(fake, real, strict=True)
            for f, r in zip(fake_maps, real_maps, strict=True)
        )  # fmt: skip
        detached = self.discriminator(reconstruction.detach())
        discriminator = sum(
            ((r - 1) ** 2).mean() + (f**2).mean() for (r, _), (f, _) in zip(real, detached, strict=True)
        )
        generator = mse + s.commitment_weight * commitment
        generator = generator + s.adversarial_weight * (adversarial + s.feature_matching_weight * matching)
        logs = {
            "loss_reconstruction": mse.item(),
            "loss_commitment": commitment.item(),
            "loss_adversarial": float(adversarial.detach()),
            "loss_feature_matching": float(matching.detach()),
            "loss_discriminator": float(discriminator.detach()),
        }
        return generator + discriminator, logs

    def encode_codes(self, normalized: Tensor) -> list[Tensor]:
        _, codes, _ = self.quantizer(self.encoder(self.to_signal(normalized)))
        return codes

    def decode_codes(self, codes: list[Tensor]) -> Tensor:
        return self.from_signal(self.decoder(self.quantizer.from_codes(codes)))


class NACTokenizer(LearnedChunkTokenizer):
    kind = "nac"
    settings_class = NACSettings
    network_class = NeuralActionCodec
