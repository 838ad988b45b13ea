"""Config of the `actioncodec` policy type: a VLA that emits action tokens autoregressively.

`tokenizer_path` is a trained `actioncodec_tokenizer` checkpoint (the paper's policy) or any saved action
tokenizer of the package (binning, fast, vqvla, nac, actioncodec; see `actioncodec-bench --save-dir`), so the
same policy can be trained on every tokenizer with everything else fixed. The tokenizer's facts are copied
into `tokenizer_info` and the policy's checkpoint carries the tokenizer itself: `--policy.path` alone restores
everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.configs.types import FeatureType

from ...config_errors import reports_config_errors
from ...tokenizers.layout import ActionTokenLayout
from ..plan_then_execute import PLAN_MODES, PlanExecuteLayout
from ..presets import AdamWCosinePresets, require_non_negative, require_positive

BACKBONE_CHOICES = ("smolvlm", "compact")
DEFAULT_VLM = "HuggingFaceTB/SmolVLM2-2.2B-Instruct"
# Per-backbone defaults: the paper's 224 px views and 1e-4 peak rate (Table 7) for the VLM, and what trains the
# compact model from scratch on a CPU.
IMAGE_SIZE_DEFAULTS = {"smolvlm": 224, "compact": 128}
LR_DEFAULTS = {"smolvlm": 1e-4, "compact": 3e-4}
INVALID_ACTION_CHOICES = ("zeros", "hold")
REPAIRED_CHUNK_CHOICES = ("no_motion", "execute")


def describe_saved_tokenizer(path: str, embodiment: str | None, all_levels: bool = False) -> dict[str, Any]:
    """Load the tokenizer once to read its facts (imported here: config parsing stays light otherwise)."""
    from ...tokenizers.registry import describe_tokenizer, load_action_tokenizer

    return describe_tokenizer(load_action_tokenizer(path, embodiment, all_levels))


@PreTrainedConfig.register_subclass("actioncodec")
@dataclass
class ActionCodecConfig(AdamWCosinePresets, PreTrainedConfig):
    # Read every RVQ level of an ActionCodec tokenizer (the block-wise head) rather than its VQ form.
    reads_all_levels: ClassVar[bool] = False

    # --- tokenizer ------------------------------------------------------------------------------
    # A trained actioncodec_tokenizer checkpoint's pretrained_model/ directory, or any saved action tokenizer.
    tokenizer_path: str | None = None
    # Filled from tokenizer_path (kind, chunk, action dim, vocabulary, budget), so checkpoints need no tokenizer_path.
    tokenizer_info: dict[str, Any] | None = None
    # Embodiment of the training data among an actioncodec tokenizer's; None: its training embodiment.
    embodiment: str | None = None
    # Variable-budget tokenizers (fast): the most tokens per chunk; None: twice the longest seen when fitting.
    max_action_tokens: int | None = None

    # --- plan-then-execute (Coarse-to-Control, ../shared/papers/004_*; policies/plan_then_execute.py) -----------
    # "none": the chunk's tokens only. "joint": the target is [plan tokens, exec tokens], the coarse plan of the next
    # H_p actions encoded by the tokenizer's own plan mode (a joint-mode tokenizer, trained with
    # --policy.plan_seconds), sharing its vocabulary; "separate": the plan encoded by plan_tokenizer_path's plan
    # mode, with ids of its own (the paper's separate-tokenizer ablation). Either way only the exec tokens are
    # decoded and executed. The autoregressive head only.
    plan_mode: str = "none"
    # "separate": a joint-mode (or plan-only, --policy.train_execution=false) actioncodec_tokenizer checkpoint.
    plan_tokenizer_path: str | None = None
    # Filled from plan_tokenizer_path, as tokenizer_info.
    plan_tokenizer_info: dict[str, Any] | None = None

    # --- backbone -------------------------------------------------------------------------------
    # smolvlm: SmolVLM2 with the action vocabulary (the paper's policy); compact: a small model for CPUs.
    backbone: str = "smolvlm"
    # Every camera is resized to image_size x image_size, then the views are placed side by side (Table 6).
    # None: 224 for smolvlm, 128 for compact.
    image_size: int | None = None
    # smolvlm: a hub id (256M/500M/2.2B SmolVLM2 work) or a local directory; "tiny-random" builds a tiny,
    # randomly initialised SmolVLM with a locally built tokenizer (tests and smoke runs, no download).
    vlm_model_name: str = DEFAULT_VLM
    vlm_pretrained_weights: bool = True  # False: the architecture of vlm_model_name, randomly initialised
    lora_rank: int = 0  # 0: full fine-tuning (the paper); > 0: LoRA adapters of this rank (peft)
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    # compact: a conv image encoder + a causal transformer decoder (NAC's policy size: d=256, 4 layers, 4 heads)
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1

    # --- inference ------------------------------------------------------------------------------
    # Steps of each decoded chunk executed before the next prediction; None: the whole chunk.
    n_action_steps: int | None = None
    temperature: float = 0.0  # 0: greedy (the paper's decoding)
    top_k: int | None = None  # sample among the k most likely codes when temperature > 0
    # What an invalid token sequence becomes (paper A.2: a zero-action chunk). "zeros": no motion for
    # delta actions; "hold": repeat the last executed action, or before the first one hold the observed position
    # (a state of the action's size, e.g. an SO-100's joints): "no motion" for absolute actions. None: "hold" when
    # the tokenizer's embodiment declares absolute positions (configs/embodiments.json's so100), else "zeros";
    # a tokenizer without an embodiment spec (the peers) gives "zeros", so set "hold" for an absolute-position arm.
    invalid_action: str | None = None
    # A sequence the tokenizer could decode only after repairing it (wrong length, id out of its range):
    # "no_motion" replaces it like an invalid one (the paper's protocol); "execute" runs the repaired chunk
    # (FAST's soft decoding). Either way it is counted in `repaired_chunks`.
    on_repaired_chunk: str = "no_motion"
    # Every emitted action is clamped to the training data's per-dimension range widened by this share of it, and
    # each clamped value counted and logged (policies/action_bounds.py, a postprocessor step saved with the
    # checkpoint). None: off.
    action_bounds_margin: float | None = 0.05
    # Variable-budget tokenizers whose ids stand for a known number of symbols (FAST): allow, at each position,
    # only ids that keep the stream able to decode to exactly T x D coefficients, and the end token exactly
    # there, so a sequence never needs repair for its length. False: free decoding (FAST as pi0-FAST decodes).
    exact_length_decoding: bool = True
    # Fixed-budget tokenizers whose levels own different ids (VQ-VLA's residual levels, NAC's codebooks): allow, at
    # each position, only its level's ids, so no sequence needs repair for an id of another level. False: any id
    # anywhere (a wrong-level id makes the row repaired, i.e. no motion by default).
    level_range_decoding: bool = True
    # A JSON-lines file each predicted chunk appends its boundary jump, in-chunk step and no-motion/repair counts
    # to (rollout_log.py), e.g. --policy.rollout_log=<lerobot-eval output_dir>/rollout_log.jsonl; None: off.
    rollout_log: str | None = None
    # Real-time chunking (lerobot-rollout --inference.type=rtc): a token head cannot be guided towards the leftover
    # actions like a flow, so it decodes its usual chunk plus rtc_candidates - 1 chunks sampled at rtc_temperature
    # (top_k as above) and executes the one that continues the leftover most smoothly (policies/continuation.py).
    # 1: the usual chunk only.
    rtc_candidates: int = 4
    rtc_temperature: float = 1.0

    # --- optimization ---------------------------------------------------------------------------
    optimizer_lr: float | None = None  # None: 1e-4 for smolvlm (paper, 2.2B on LIBERO), 3e-4 for compact
    optimizer_betas: tuple[float, float] = (0.9, 0.95)
    optimizer_weight_decay: float = 0.01
    optimizer_grad_clip_norm: float = 1.0
    scheduler_warmup_steps: int = 200  # paper: 1k
    scheduler_decay_steps: int = 30_000  # paper: 30k; shorter runs scale the schedule down
    scheduler_decay_lr: float = 3e-5

    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.IDENTITY,  # images stay in [0, 1]; the backbone normalizes them
            "STATE": NormalizationMode.MEAN_STD,
            "ACTION": NormalizationMode.IDENTITY,  # the tokenizer takes raw actions and normalizes itself
        }
    )
    push_to_hub: bool = False

    @reports_config_errors
    def __post_init__(self) -> None:
        super().__post_init__()
        if self.backbone not in BACKBONE_CHOICES:
            raise ValueError(f"backbone={self.backbone!r}: expected one of {BACKBONE_CHOICES}")
        if self.image_size is None:
            self.image_size = IMAGE_SIZE_DEFAULTS[self.backbone]
        if self.optimizer_lr is None:
            self.optimizer_lr = LR_DEFAULTS[self.backbone]
        if self.invalid_action is not None and self.invalid_action not in INVALID_ACTION_CHOICES:
            raise ValueError(
                f"invalid_action={self.invalid_action!r}: expected one of {INVALID_ACTION_CHOICES} or None (from the "
                "tokenizer's embodiment)"
            )
        if self.on_repaired_chunk not in REPAIRED_CHUNK_CHOICES:
            raise ValueError(f"on_repaired_chunk={self.on_repaired_chunk!r}: expected one of {REPAIRED_CHUNK_CHOICES}")
        for name in ("image_size", "hidden_size", "num_layers", "num_heads", "ff_mult", "optimizer_lr", "lora_alpha"):
            require_positive(name, getattr(self, name))
        require_non_negative("lora_rank", self.lora_rank)
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size={self.hidden_size}: expected a multiple of num_heads={self.num_heads}")
        if self.temperature < 0:
            raise ValueError(f"temperature={self.temperature}: expected >= 0 (0 is greedy)")
        if self.rtc_candidates < 1:
            raise ValueError(f"rtc_candidates={self.rtc_candidates}: expected >= 1")
        if self.rtc_temperature <= 0:
            raise ValueError(f"rtc_temperature={self.rtc_temperature}: expected > 0 (the candidates are sampled)")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k={self.top_k}: expected >= 1 or None")
        if self.action_bounds_margin is not None:
            require_non_negative("action_bounds_margin", self.action_bounds_margin)
        for name in ("dropout", "lora_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: expected in [0, 1)")
        if self.tokenizer_path is not None and self.tokenizer_info is None:
            self.tokenizer_info = describe_saved_tokenizer(self.tokenizer_path, self.embodiment, self.reads_all_levels)
        self._check_plan_mode()
        if self.tokenizer_info is not None:
            _ = self.layout  # checks max_action_tokens against the tokenizer now, not at the first batch
            if self.invalid_action is None:
                self.invalid_action = "hold" if self.tokenizer_info.get("absolute_positions") else "zeros"
            chunk = self.chunk_length
            if self.n_action_steps is not None and not 1 <= self.n_action_steps <= chunk:
                raise ValueError(f"n_action_steps={self.n_action_steps}: expected 1..chunk_length={chunk}")

    def _check_plan_mode(self) -> None:
        if self.plan_mode not in PLAN_MODES:
            raise ValueError(f"plan_mode={self.plan_mode!r}: expected one of {PLAN_MODES}")
        if self.plan_mode == "none":
            return
        if self.type != "actioncodec":
            raise ValueError(f"plan_mode={self.plan_mode!r}: plan-then-execute is an option of the autoregressive "
                             f"head (--policy.type=actioncodec), not of {self.type}")  # fmt: skip
        if self.plan_mode == "separate":
            if self.plan_tokenizer_path is None and self.plan_tokenizer_info is None:
                raise ValueError("plan_mode='separate' needs --policy.plan_tokenizer_path=<a joint-mode or plan-only "
                                 "actioncodec_tokenizer checkpoint>")  # fmt: skip
            if self.plan_tokenizer_info is None:
                self.plan_tokenizer_info = describe_saved_tokenizer(self.plan_tokenizer_path, self.embodiment)
        elif self.plan_tokenizer_path is not None:
            raise ValueError(
                f"plan_tokenizer_path={self.plan_tokenizer_path!r} with plan_mode='joint': the plan comes "
                "from tokenizer_path's own plan mode; leave it unset or use plan_mode='separate'"
            )
        if self.tokenizer_info is None:
            return
        source = self.plan_source_info
        if source.get("plan_horizon") is None:
            which = "tokenizer_path" if self.plan_mode == "joint" else "plan_tokenizer_path"
            raise ValueError(f"plan_mode={self.plan_mode!r}: the {which} tokenizer has no plan mode; train it with "
                             "--policy.plan_seconds=<seconds> (a joint-mode actioncodec_tokenizer)")  # fmt: skip
        for fact in ("chunk_length", "action_dim"):
            if source[fact] != self.tokenizer_info[fact]:
                raise ValueError(f"plan tokenizer {fact}={source[fact]} but the execution tokenizer has "
                                 f"{self.tokenizer_info[fact]}; expected equal (trained on the same data)")  # fmt: skip

    @property
    def plan_source_info(self) -> dict[str, Any]:
        """The facts of the tokenizer whose plan mode makes the plan tokens."""
        return self.plan_tokenizer_info if self.plan_mode == "separate" else self._require_tokenizer()

    @property
    def plan_horizon(self) -> int:
        """H_p: the actions a plan summarises; 0 without plan tokens."""
        return 0 if self.plan_mode == "none" else int(self.plan_source_info["plan_horizon"])

    # --- tokenizer facts --------------------------------------------------------------------------
    def _require_tokenizer(self) -> dict[str, Any]:
        if self.tokenizer_info is None:
            raise ValueError(
                "tokenizer_path is not set: pass --policy.tokenizer_path=<a trained actioncodec_tokenizer "
                "checkpoint's pretrained_model/ directory, or a saved action tokenizer>"
            )
        return self.tokenizer_info

    @property
    def chunk_length(self) -> int:
        return int(self._require_tokenizer()["chunk_length"])

    @property
    def action_dim(self) -> int:
        return int(self._require_tokenizer()["action_dim"])

    @property
    def layout(self) -> ActionTokenLayout | PlanExecuteLayout:
        execution = ActionTokenLayout.from_info(self._require_tokenizer(), self.max_action_tokens)
        if self.plan_mode == "none":
            return execution
        plan_info = self.plan_source_info
        plan = ActionTokenLayout.from_info(plan_info)
        levels = [
            tuple(tuple(level) for level in info.get("token_levels") or ()) for info in (plan_info, self.tokenizer_info)
        ]
        return PlanExecuteLayout(plan, execution, self.plan_mode == "joint", *levels)

    @property
    def steps_per_prediction(self) -> int:
        return self.n_action_steps or self.chunk_length

    # --- LeRobot contract -------------------------------------------------------------------------
    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(max(self.chunk_length, self.plan_horizon)))

    def validate_features(self) -> None:
        action = self.output_features.get("action")
        if action is None:
            raise ValueError("output_features has no 'action' feature: the policy predicts actions")
        if action.shape[0] != self.action_dim:
            raise ValueError(
                f"dataset action dim={action.shape[0]} but the {self.tokenizer_info['kind']} tokenizer has "
                f"action_dim={self.action_dim}; expected equal"
            )
        if not self.image_features:
            raise ValueError("input_features has no camera (VISUAL) feature: the policy needs at least one image")
        states = [k for k, f in self.input_features.items() if f.type is FeatureType.STATE]
        if len(states) > 1:
            raise ValueError(f"input_features has {len(states)} state features {states}: expected at most one")
