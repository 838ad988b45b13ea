"""`c2c`: Coarse-to-Control's joint-mode residual-VQ tokenizer (paper 004 of ../shared/papers, section 3.2, B.4).

- Temporal patch pre-transform: a chunk [T, D] is cut into `patches` patches of T / patches steps; each action
  dimension of each patch is one token position (the paper: 2 patches x 7 dimensions at LIBERO's 20 steps).
- Each position's T / patches values, with a learned embedding of its dimension and patch and the **mode**
  embedding (execution 0, plan 1; the paper's mode-conditioning dimension is 64), go through an MLP to a latent
  of `latent_dim` (64), a residual VQ of `levels` codebooks (3 x 4,096) shared by every position and both modes,
  and an MLP decoder conditioned the same way: `patches x D x levels` tokens per chunk (42 on LIBERO).
- Objective: L1 reconstruction plus `commitment_weight` (0.25) x the commitment loss. The codebooks follow the
  encoder by EMA (vector-quantize-pytorch, as VQ-VLA's here), which stands in for the paper's codebook loss term.
- Each mode has its own standardization (a plan step sums c actions). `fit_joint` trains on execution chunks and
  coarse plans (coarse_plan.py) equally, a batch of each per step; `fit` trains the execution mode alone.
- Ids of level i are offset by i x codebook_size, as the other residual peers'; a chunk is level 0's positions,
  then level 1's, and so on. Both modes use the same ids: that is the shared vocabulary.

`plan_tokenizer()` is the plan mode behind the same interface, and `coarse_plan` makes its input, so a policy's
`--policy.plan_mode=joint` works with a saved `c2c` tokenizer as with a joint-mode ActionCodec. `actioncodec-bench`
fits it with the spec `c2c` (joint under `--plans`) and saves it with `--save-dir`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from vector_quantize_pytorch import ResidualVQ

from ..coarse_plan import PlanSettings
from .learned import LearnedChunkTokenizer

EXECUTION, PLAN = 0, 1


@dataclass
class C2CSettings:
    chunk_length: int
    action_dim: int
    patches: int = 2  # temporal patches per chunk (the paper: 2 of a 20-step horizon)
    latent_dim: int = 64
    levels: int = 3
    codebook_size: int = 4096
    hidden: int = 256
    mode_dim: int = 64
    commitment_weight: float = 0.25
    # the plan mode: H_p (0: none, an execution-only tokenizer), the gripper dimensions, absolute position targets
    plan_horizon: int = 0
    gripper_dims: list[int] = field(default_factory=list)
    absolute: bool = False

    def __post_init__(self) -> None:
        if self.patches < 1 or self.chunk_length % self.patches:
            raise ValueError(f"patches={self.patches}: expected a positive divisor of chunk_length={self.chunk_length}")
        if self.plan_horizon and self.plan_horizon % self.chunk_length:
            raise ValueError(f"plan_horizon={self.plan_horizon}: expected a multiple of the K={self.chunk_length} "
                             "plan steps")  # fmt: skip
        outside = [d for d in self.gripper_dims if not 0 <= d < self.action_dim]
        if outside:
            raise ValueError(f"gripper_dims={self.gripper_dims}: {outside} outside the action's {self.action_dim} "
                             "dimensions")  # fmt: skip

    @property
    def patch_length(self) -> int:
        return self.chunk_length // self.patches

    @property
    def positions(self) -> int:
        """Tokens per level: one per patch and action dimension."""
        return self.patches * self.action_dim

    @property
    def plan_settings(self) -> PlanSettings:
        """What turns the next H_p actions into the plan mode's input (K = chunk_length plan steps)."""
        return PlanSettings(self.plan_horizon, self.chunk_length, tuple(self.gripper_dims), self.absolute)


class JointPatchRVQ(nn.Module):
    """The network, on standardized chunks [B, T, D] of either mode."""

    def __init__(self, s: C2CSettings):
        super().__init__()
        self.s = s
        h = s.hidden
        self.position = nn.Parameter(torch.randn(s.patches, s.action_dim, h) * 0.02)  # patch x dimension
        self.mode = nn.Sequential(nn.Embedding(2, s.mode_dim), nn.Linear(s.mode_dim, h))
        self.encoder = nn.Sequential(nn.Linear(s.patch_length, h), nn.GELU(), nn.Linear(h, h), nn.GELU(),
                                     nn.Linear(h, s.latent_dim))  # fmt: skip
        self.encoder_in = nn.Linear(h, h)
        self.quantizer = ResidualVQ(dim=s.latent_dim, num_quantizers=s.levels, codebook_size=s.codebook_size,
                                    kmeans_init=True, decay=0.95)  # fmt: skip
        self.decoder_in = nn.Linear(s.latent_dim, h)
        self.decoder = nn.Sequential(nn.GELU(), nn.Linear(h, h), nn.GELU(), nn.Linear(h, s.patch_length))

    @property
    def codebook_size(self) -> int:
        return self.s.codebook_size

    @property
    def level_lengths(self) -> list[int]:
        return [self.s.positions] * self.s.levels

    def _condition(self, mode: int, device: torch.device) -> Tensor:
        """[patches x D, hidden]: where each token sits and which mode it is in."""
        return (self.position + self.mode(torch.tensor(mode, device=device))).flatten(0, 1)

    def encode_latents(self, normalized: Tensor, mode: int) -> Tensor:
        """[B, T, D] -> [B, patches x D, latent_dim]."""
        patches = normalized.unflatten(1, (self.s.patches, self.s.patch_length)).transpose(2, 3)  # [B, P, D, t]
        values = patches.flatten(1, 2)  # [B, P x D, t]
        first = self.encoder[0](values) + self.encoder_in(self._condition(mode, values.device))
        return self.encoder[1:](first)

    def decode_latents(self, latents: Tensor, mode: int) -> Tensor:
        """[B, patches x D, latent_dim] -> [B, T, D]."""
        hidden = self.decoder_in(latents) + self._condition(mode, latents.device)
        values = self.decoder(hidden).unflatten(1, (self.s.patches, self.s.action_dim))  # [B, P, D, t]
        return values.transpose(2, 3).flatten(1, 2)

    def forward(self, normalized: Tensor, mode: int = EXECUTION) -> tuple[Tensor, Tensor, Tensor]:
        """Reconstruction, code indices [B, positions, levels], commitment loss."""
        quantized, indices, commitment = self.quantizer(self.encode_latents(normalized, mode))
        return self.decode_latents(quantized, mode), indices, commitment.sum()

    def training_loss(self, normalized: Tensor, mode: int = EXECUTION) -> tuple[Tensor, dict[str, float]]:
        reconstruction, _, commitment = self(normalized, mode)
        error = F.l1_loss(reconstruction, normalized)
        return error + self.s.commitment_weight * commitment, {"loss_reconstruction": error.item()}

    def encode_codes(self, normalized: Tensor, mode: int = EXECUTION) -> list[Tensor]:
        _, indices, _ = self(normalized, mode)
        return list(indices.unbind(-1))

    def decode_codes(self, codes: list[Tensor], mode: int = EXECUTION) -> Tensor:
        """Missing finer levels are -1, which the residual quantizer leaves out of the sum."""
        indices = F.pad(torch.stack(codes, -1), (0, self.s.levels - len(codes)), value=-1)
        return self.decode_latents(self.quantizer.get_output_from_indices(indices), mode)


class C2CTokenizer(LearnedChunkTokenizer):
    kind = "c2c"
    settings_class = C2CSettings
    network_class = JointPatchRVQ

    def __init__(self, settings: C2CSettings, mean: Tensor, std: Tensor, model: nn.Module | None = None,
                 plan_mean: Tensor | None = None, plan_std: Tensor | None = None, mode: int = EXECUTION):  # fmt: skip
        super().__init__(settings, mean, std, model)
        self.mode = mode
        self.execution_stats = (self.mean, self.std)
        self.plan_stats = None if plan_mean is None else (plan_mean.float(), plan_std.float().clamp_min(1e-6))
        if mode == PLAN:
            self.mean, self.std = self.plan_stats

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit_joint(
        cls,
        chunks: Tensor,
        plans: Tensor,
        plan_horizon: int,
        gripper_dims: list[int] | None = None,
        absolute: bool = False,
        steps: int = 300,
        batch_size: int = 128,
        lr: float = 1e-3,
        seed: int = 0,
        **architecture,
    ) -> C2CTokenizer:
        """Train both modes: execution chunks [N, T, D] and coarse plans [M, K = T, D] (raw units), a batch of each
        per AdamW step, for `steps` steps."""
        if chunks.ndim != 3 or plans.shape[1:] != chunks.shape[1:]:
            raise ValueError(f"chunks {tuple(chunks.shape)} and plans {tuple(plans.shape)}: expected [N, T, D] and "
                             "[M, T, D] (K = T plan steps)")  # fmt: skip
        torch.manual_seed(seed)
        settings = C2CSettings(chunks.shape[1], chunks.shape[2], plan_horizon=plan_horizon,
                               gripper_dims=list(gripper_dims or []), absolute=absolute, **architecture)  # fmt: skip
        flat, plan_flat = chunks.reshape(-1, chunks.shape[-1]).float(), plans.reshape(-1, plans.shape[-1]).float()
        tokenizer = cls(settings, flat.mean(0), flat.std(0), plan_mean=plan_flat.mean(0), plan_std=plan_flat.std(0))
        data = [(tokenizer.normalize(chunks), {"mode": EXECUTION}),
                (tokenizer.plan_tokenizer().normalize(plans), {"mode": PLAN})]  # fmt: skip
        tokenizer._train(data, steps, batch_size, lr, seed)
        return tokenizer

    # ---------------------------------------------------------------- the modes
    @property
    def plan_horizon(self) -> int | None:
        """H_p of the plan mode, seen from the execution mode (None without a plan mode, and in the plan mode)."""
        has_plan = self.mode == EXECUTION and self.plan_stats is not None and self.settings.plan_horizon > 0
        return self.settings.plan_horizon if has_plan else None

    def plan_tokenizer(self) -> C2CTokenizer:
        """The same network in its plan mode: coarse plans [B, K, D] in, the same ids out."""
        if self.plan_stats is None:
            raise ValueError("this c2c tokenizer has no plan mode: fit it with fit_joint (actioncodec-bench --plans)")
        return C2CTokenizer(self.settings, *self.execution_stats, self.model, *self.plan_stats, mode=PLAN)

    @property
    def plan_settings(self) -> PlanSettings:
        return self.settings.plan_settings

    def coarse_plan(self, actions: Tensor, is_pad: Tensor | None = None) -> Tensor:
        """The next H_p raw actions [B, H_p, D] -> the coarse plan [B, K, D] the plan mode encodes."""
        return self.plan_settings.plans(actions, is_pad)[0]

    def _network_kwargs(self) -> dict:
        """Every encode and decode of this view runs the network in its mode."""
        return {"mode": self.mode}

    # ------------------------------------------------------------- save / load
    statistics_keys = ("mean", "std", "plan_mean", "plan_std")

    def saved_statistics(self) -> dict[str, list[float]]:
        """Both modes' statistics, whichever mode this view is in (the one network is saved once)."""
        (mean, std), plan = self.execution_stats, self.plan_stats
        saved = {"mean": mean.tolist(), "std": std.tolist()}
        return saved if plan is None else {**saved, "plan_mean": plan[0].tolist(), "plan_std": plan[1].tolist()}

    @classmethod
    def from_saved(cls, settings: C2CSettings, statistics: dict[str, Tensor], model: nn.Module) -> C2CTokenizer:
        """The execution mode (its plan mode: `.plan_tokenizer()`)."""
        plan = (statistics.get("plan_mean"), statistics.get("plan_std"))
        return cls(settings, statistics["mean"], statistics["std"], model, *plan)
