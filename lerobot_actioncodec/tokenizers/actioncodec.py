"""ActionCodecTokenizer: the public encode/decode API over a trained ActionCodec network.

It holds the network, the per-embodiment normalization and the embodiment specs, so raw actions in
dataset units go in and come out. The policies of this package embed it as a submodule, which is how
their checkpoints carry the tokenizer they were trained with.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import torch
from huggingface_hub.constants import SAFETENSORS_SINGLE_FILE
from safetensors.torch import load_file
from torch import Tensor, nn

from ..coarse_plan import PlanSettings, plan_mode_name
from ..codec.architecture import CodecArchitecture
from ..codec.model import ActionCodecNet
from ..embodiments import EmbodimentSpec
from ..normalization import ActionNormalizer
from ..tokenizer_checkpoint import TOKENIZER_POLICY_TYPE, read_tokenizer_config


@contextmanager
def eval_mode(module: nn.Module, submodules: list[nn.Module] | None = None) -> Iterator[None]:
    """Run in eval mode (no dropout, no codebook updates) and restore the previous mode after.

    A module already wholly in eval mode (`submodules`: its modules, listed once by the caller) is left alone:
    switching modes walks every submodule twice, which costs a good share of a batch-1 encode."""
    if not any(m.training for m in (module.modules() if submodules is None else submodules)):
        yield
        return
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


class ActionCodecTokenizer(nn.Module):
    def __init__(self, arch: CodecArchitecture, embodiments: dict[str, EmbodimentSpec], default_embodiment: str):
        super().__init__()
        if default_embodiment not in embodiments:
            raise ValueError(f"embodiment={default_embodiment!r}: expected one of {sorted(embodiments)}")
        if len(embodiments) != arch.num_embodiments:
            raise ValueError(f"{len(embodiments)} embodiments given, architecture has {arch.num_embodiments}")
        self.arch = arch
        self.embodiments = dict(embodiments)
        self.embodiment_names = list(embodiments)
        self.default_embodiment = default_embodiment
        self.codec = ActionCodecNet(arch)
        self.normalizer = ActionNormalizer(arch.num_embodiments, arch.max_action_dim)
        self._modules_list: list[nn.Module] | None = None  # every module, listed once for eval_mode

    def _eval_mode(self) -> AbstractContextManager[None]:
        if self._modules_list is None:
            self._modules_list = list(self.modules())
        return eval_mode(self, self._modules_list)

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(cls, path: str | Path) -> ActionCodecTokenizer:
        """Load from a lerobot-train checkpoint's `pretrained_model/` directory: its config.json and the tokenizer's
        weights, nothing else (the SigLIP text side is needed to train, not to tokenize, so a checkpoint trained
        with a frozen text model loads where that model is not installed)."""
        tokenizer = cls.from_config(read_tokenizer_config(path))
        prefix = "tokenizer."
        weights = load_file(str(Path(path) / SAFETENSORS_SINGLE_FILE))
        tokenizer.load_state_dict({k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)})
        return tokenizer.eval()

    @classmethod
    def from_config(cls, config: dict) -> ActionCodecTokenizer:
        """An untrained tokenizer shaped by a checkpoint's config.json dict (weights come from elsewhere).

        Policies use it to rebuild the tokenizer they embed before loading their own state dict.
        """
        import draccus

        from ..policies.actioncodec_tokenizer.configuration_actioncodec_tokenizer import ActionCodecTokenizerConfig

        if config.get("type") != TOKENIZER_POLICY_TYPE:
            raise ValueError(f"tokenizer config type={config.get('type')!r}: expected {TOKENIZER_POLICY_TYPE!r}")
        tokenizer_config = draccus.decode(ActionCodecTokenizerConfig, {k: v for k, v in config.items() if k != "type"})
        return cls(tokenizer_config.architecture(), tokenizer_config.embodiments, tokenizer_config.embodiment)

    # -------------------------------------------------------------- properties
    @property
    def num_tokens(self) -> int:
        return self.arch.num_tokens

    @property
    def codebook_size(self) -> int:
        return self.arch.codebook_size

    @property
    def num_levels(self) -> int:
        return self.arch.rvq_levels

    @property
    def chunk_length(self) -> int:
        """Steps per chunk of the default embodiment."""
        return self.embodiments[self.default_embodiment].chunk_length

    @property
    def action_dim(self) -> int:
        """Action dimension of the default embodiment."""
        return self.embodiments[self.default_embodiment].action_dim

    def plan_mode(self, embodiment: str | None = None) -> str | None:
        """The plan mode of `embodiment` (default: the training embodiment) if this is a joint-mode tokenizer."""
        name = plan_mode_name(self.default_embodiment if embodiment is None else embodiment)
        return name if name in self.embodiments else None

    def plan_settings(self, embodiment: str | None = None) -> PlanSettings:
        """H_p, K, gripper dimensions and action kind of `embodiment`'s plan mode (coarse_plan.py)."""
        return PlanSettings.of(self.resolve(self._require_plan_mode(embodiment))[1], self.resolve(embodiment)[1])

    def plan_horizon(self, embodiment: str | None = None) -> int:
        """H_p: the actions one plan summarises (coarse_plan.py)."""
        return self.plan_settings(embodiment).horizon

    def _require_plan_mode(self, embodiment: str | None) -> str:
        plan = self.plan_mode(embodiment)
        if plan is None:
            raise ValueError(f"embodiment={embodiment or self.default_embodiment!r} has no plan mode: train the "
                             "tokenizer with --policy.plan_seconds=<seconds> for a joint-mode tokenizer")  # fmt: skip
        return plan

    def coarse_plan(self, actions: Tensor, is_pad: Tensor | None = None, embodiment: str | None = None) -> Tensor:
        """The next H_p raw actions [B, H_p, D] -> their coarse plan [B, K, D] (raw units), the plan mode's input;
        `is_pad` [B, H_p] flags steps past the episode's end (LeRobot's action_is_pad)."""
        return self.plan_settings(embodiment).plans(actions, is_pad)[0]

    def resolve(self, embodiment: str | None) -> tuple[int, EmbodimentSpec]:
        name = self.default_embodiment if embodiment is None else embodiment
        if name not in self.embodiments:
            raise ValueError(f"embodiment={name!r}: unknown; this tokenizer knows {self.embodiment_names}")
        return self.embodiment_names.index(name), self.embodiments[name]

    # ------------------------------------------------------------ validation
    def check_actions(self, actions: Tensor, embodiment: str | None) -> tuple[int, EmbodimentSpec]:
        index, spec = self.resolve(embodiment)
        if not isinstance(actions, Tensor) or not actions.is_floating_point():
            raise ValueError(f"actions: expected a float tensor [B, T, D], got {type(actions).__name__}")
        if actions.ndim != 3:
            raise ValueError(f"actions shape={tuple(actions.shape)}: expected 3 dims [B, T, D]")
        if actions.shape[1] != spec.chunk_length:
            raise ValueError(
                f"actions T={actions.shape[1]}: expected chunk_length={spec.chunk_length} "
                f"({spec.chunk_seconds} s at {spec.fps} Hz) for embodiment {self.embodiment_names[index]!r}"
            )
        if actions.shape[2] != spec.action_dim:
            raise ValueError(
                f"actions D={actions.shape[2]}: expected action_dim={spec.action_dim} "
                f"for embodiment {self.embodiment_names[index]!r}"
            )
        if not torch.isfinite(actions).all():
            bad = (~torch.isfinite(actions)).nonzero()[0].tolist()
            raise ValueError(f"actions: non-finite value (NaN or inf) at index {bad}; expected finite numbers")
        if not bool(self.normalizer.has_stats[index]):
            raise ValueError(
                f"embodiment {self.embodiment_names[index]!r} has no normalization statistics: "
                "train the tokenizer on a dataset of this embodiment first"
            )
        return index, spec

    def check_tokens(self, tokens: Tensor) -> Tensor:
        """Accept [B, n] or [B, levels, n] integer ids; return [B, levels, n]."""
        if not isinstance(tokens, Tensor) or tokens.is_floating_point() or tokens.dtype == torch.bool:
            raise ValueError(f"tokens: expected an integer tensor [B, n] or [B, levels, n], got {tokens!r:.80}")
        if tokens.ndim == 2:
            tokens = tokens.unsqueeze(1)
        if tokens.ndim != 3:
            raise ValueError(f"tokens shape={tuple(tokens.shape)}: expected [B, n] or [B, levels, n]")
        if tokens.shape[2] != self.num_tokens:
            raise ValueError(f"tokens n={tokens.shape[2]}: expected num_tokens={self.num_tokens}")
        if not 1 <= tokens.shape[1] <= self.num_levels:
            raise ValueError(f"tokens levels={tokens.shape[1]}: expected 1..{self.num_levels}")
        low, high = int(tokens.min()), int(tokens.max())
        if low < 0 or high >= self.codebook_size:
            raise ValueError(
                f"token ids range [{low}, {high}]: expected ids in [0, {self.codebook_size - 1}] (codebook_size)"
            )
        return tokens.long()

    # ------------------------------------------------------------ encode/decode
    def normalize(self, actions: Tensor, embodiment_index: int) -> Tensor:
        return self.normalizer.normalize(actions, embodiment_index)

    @torch.no_grad()
    def encode(self, actions: Tensor, embodiment: str | None = None, levels: int | None = None) -> Tensor:
        """float [B, T, D] raw units -> long [B, n] (VQ) or [B, levels, n] (RVQ: all levels by default)."""
        index, spec = self.check_actions(actions, embodiment)
        depth = self.num_levels if levels is None else levels
        if not 1 <= depth <= self.num_levels:
            raise ValueError(f"levels={levels}: expected 1..{self.num_levels}")
        device = self.normalizer.offset.device
        with self._eval_mode():
            indices = self.codec.encode_indices(self.normalize(actions.to(device), index), spec.fps, index, depth)
        return indices[:, 0] if depth == 1 and levels is None else indices

    @torch.no_grad()
    def decode(self, tokens: Tensor, embodiment: str | None = None) -> Tensor:
        """long [B, n] or [B, levels, n] -> float [B, T, D] raw units."""
        index, spec = self.resolve(embodiment)
        tokens = self.check_tokens(tokens).to(self.normalizer.offset.device)
        with self._eval_mode():
            normalized = self.codec.decode_indices(tokens, spec.chunk_length, spec.fps, index)
        return self.normalizer.denormalize(normalized, index, spec.action_dim)
