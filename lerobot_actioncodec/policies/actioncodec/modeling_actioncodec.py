"""`actioncodec` policy: cameras + state + task -> action tokens (autoregressive) -> an action chunk.

Training: the frozen tokenizer (ActionCodec by default, any of the package's through `ActionTokenizer`) turns the
batch's raw action chunk into target tokens and the backbone learns them with cross-entropy on the action
positions only (`ActionTokenLayout`: plus an end token when the budget varies). Inference: constrained decoding
over the action vocabulary, the tokenizer decodes the ids to a chunk in raw units, and `select_action` executes
`n_action_steps` of it from a queue. A chunk that cannot be decoded (or, by default, only after repair) becomes
a no-motion chunk, counted in `invalid_chunks`, never an exception in the control loop.
"""

import logging
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from lerobot.configs.types import FeatureType
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.utils.constants import ACTION
from torch import Tensor, nn

from ...backbones.compact import CompactBackbone
from ...backbones.smolvlm import LoRASettings, SmolVLMBackbone
from ...fsdp import transformer_block_names
from ...model_card import ModelCardMixin, Rows
from ...rollout_log import RolloutLog
from ...tokenizers.interface import ActionTokenizer, DecodedChunks
from ...tokenizers.layout import IGNORE_INDEX, decoding_rule, trim_untrained
from ...tokenizers.registry import describe_tokenizer, load_action_tokenizer
from ..continuation import choose_continuation, repeat_rows
from ..held_position import state_unnormalizer
from .configuration_actioncodec import ActionCodecConfig

logger = logging.getLogger(__name__)
VLM_FILES = "vlm"  # in a smolvlm policy's checkpoint: the expanded tokenizer and the VLM config
TOKENIZER_FILES = "action_tokenizer"  # in every checkpoint: the action tokenizer, saved through its interface
PLAN_TOKENIZER_FILES = "plan_tokenizer"  # plan_mode="separate": the tokenizer whose plan mode makes the plan


def saved_subfolder(pretrained_name_or_path: Any, name: str, **hub_kwargs: Any) -> Path | None:
    """A checkpoint's `name/` folder: a local directory's, or fetched from a hub repository; None if absent."""
    local = Path(pretrained_name_or_path) / name
    if Path(pretrained_name_or_path).is_dir():
        return local if local.is_dir() else None
    from huggingface_hub import snapshot_download

    keys = ("revision", "cache_dir", "force_download", "token", "local_files_only")
    root = snapshot_download(
        str(pretrained_name_or_path),
        allow_patterns=[f"{name}/*"],
        **{k: hub_kwargs[k] for k in keys if k in hub_kwargs},
    )
    found = Path(root) / name
    return found if found.is_dir() else None


def token_accuracy(logits: Tensor, targets: Tensor) -> float:
    """How often the argmax of logits [..., V] is the target [...], over the trained positions (not IGNORE_INDEX)."""
    trained = targets != IGNORE_INDEX
    return (logits.argmax(-1) == targets)[trained].float().mean().item()


def token_cross_entropy(logits: Tensor, targets: Tensor) -> tuple[Tensor, dict[str, float]]:
    """Cross-entropy of logits [..., V] against targets [...] (IGNORE_INDEX: not trained), and the accuracy of the
    trained positions' argmax."""
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX)
    return loss, {"token_accuracy": token_accuracy(logits, targets)}


def check_tokenizer_facts(tokenizer: ActionTokenizer, configured: dict[str, Any], which: str) -> None:
    """A clear error unless the loaded tokenizer has the facts the policy config was built on."""
    actual = describe_tokenizer(tokenizer)
    for name, value in configured.items():
        if actual.get(name) != value:
            raise ValueError(f"{which} {name}={actual.get(name)!r} but the policy config expects {value!r}")


class ActionCodecPolicy(ModelCardMixin, PreTrainedPolicy):
    config_class = ActionCodecConfig
    name = "actioncodec"
    card_summary = (
        "An autoregressive vision-language-action policy of lerobot-actioncodec: cameras, state and the task string "
        "in; the action tokens of one chunk out (constrained, KV-cached decoding), decoded to actions in the "
        "dataset's units by its frozen action tokenizer, which this checkpoint carries in `action_tokenizer/`."
    )
    # The backbone itself predicts the action tokens (its vocabulary holds them); False: it encodes the prefix
    # for an action expert.
    backbone_predicts_tokens: ClassVar[bool] = True

    def __init__(
        self,
        config: ActionCodecConfig,
        dataset_stats: dict | None = None,
        weights_follow: bool = False,
        vlm_files: Path | None = None,
        tokenizer_files: Path | None = None,
        plan_tokenizer_files: Path | None = None,
        **kwargs: Any,
    ):
        """`weights_follow`: from_pretrained loads every weight right after construction. `vlm_files`: a
        checkpoint's `vlm/` folder (smolvlm: its expanded tokenizer and config). `tokenizer_files`,
        `plan_tokenizer_files`: a checkpoint's `action_tokenizer/` and `plan_tokenizer/` folders, used instead of
        `tokenizer_path` and `plan_tokenizer_path`."""
        super().__init__(config)
        config.validate_features()
        self.tokenizer = self._load_tokenizer(config, tokenizer_files)
        self.layout = config.layout
        # plan-then-execute: the tokenizer that turns the next H_p actions into a coarse plan, and its plan mode
        self.plan_source = self._load_plan_source(config, plan_tokenizer_files)
        self.plan_tokenizer = self.plan_source.plan_tokenizer() if self.plan_source is not None else None
        if self.plan_source is not None:
            self.decoding_rule = self.layout.decoding_rule()
        else:
            self.decoding_rule = decoding_rule(
                self.tokenizer, self.layout, config.exact_length_decoding, config.level_range_decoding
            )
        self.image_keys = sorted(config.image_features)
        state_keys = [k for k, f in config.input_features.items() if f.type is FeatureType.STATE]
        self.state_key = state_keys[0] if state_keys else None
        state_dim = config.input_features[self.state_key].shape[0] if self.state_key else 0
        self.backbone = self._build_backbone(config, state_dim, len(self.image_keys), weights_follow, vlm_files)
        # invalid_action="hold" before any action was executed: the observed position (held_position.py)
        hold = state_unnormalizer(dataset_stats, config.normalization_mapping.get("STATE"), state_dim)
        usable = hold is not None and state_dim == config.action_dim
        scale, offset = hold if usable else (torch.ones(state_dim), torch.zeros(state_dim))
        self.register_buffer("state_raw_scale", scale)
        self.register_buffer("state_raw_offset", offset)
        self.register_buffer("state_holdable", torch.tensor(usable))
        self._observed_state: Tensor | None = None
        self.invalid_chunks = 0  # chunks replaced by no motion
        self.repaired_chunks = 0  # sequences the tokenizer decoded only after repairing them
        self.rollout_log = RolloutLog(config.rollout_log) if config.rollout_log else None
        self._episode = -1  # reset() starts episode 0
        self.reset()

    @staticmethod
    def _load_tokenizer(config: ActionCodecConfig, tokenizer_files: Path | None) -> ActionTokenizer:
        """The checkpoint's own copy, else `tokenizer_path`; its facts must be the ones the config was built on."""
        if tokenizer_files is None and config.tokenizer_path is None:
            raise ValueError("tokenizer_path is not set and the checkpoint has no action_tokenizer/ folder")
        path = tokenizer_files if tokenizer_files is not None else config.tokenizer_path
        tokenizer = load_action_tokenizer(path, config.embodiment, config.reads_all_levels)
        check_tokenizer_facts(tokenizer, config.tokenizer_info, "tokenizer")
        return tokenizer

    def _load_plan_source(self, config: ActionCodecConfig, plan_tokenizer_files: Path | None) -> Any:
        """The tokenizer whose plan mode encodes plans: the execution tokenizer itself ("joint"), the checkpoint's
        `plan_tokenizer/` or plan_tokenizer_path ("separate"), None without plan tokens."""
        if config.plan_mode == "none":
            return None
        if config.plan_mode == "joint":
            return self.tokenizer
        path = plan_tokenizer_files if plan_tokenizer_files is not None else config.plan_tokenizer_path
        if path is None:
            raise ValueError("plan_mode='separate': plan_tokenizer_path is not set and the checkpoint has no "
                             f"{PLAN_TOKENIZER_FILES}/ folder")  # fmt: skip
        source = load_action_tokenizer(path, config.embodiment)
        check_tokenizer_facts(source, config.plan_tokenizer_info, "plan tokenizer")
        return source

    @classmethod
    def _build_backbone(
        cls, config: ActionCodecConfig, state_dim: int, cameras: int, weights_follow: bool, vlm_files: Path | None
    ) -> CompactBackbone | SmolVLMBackbone:
        """`weights_follow`: the VLM's pretrained weights are not loaded, the checkpoint's replace them."""
        codebook_size = config.layout.head_vocab_size if cls.backbone_predicts_tokens else None
        if config.backbone == "smolvlm":
            lora = LoRASettings(config.lora_rank, config.lora_alpha, config.lora_dropout)
            return SmolVLMBackbone(
                config.vlm_model_name,
                codebook_size=codebook_size,
                num_action_tokens=config.layout.positions,
                pretrained_weights=config.vlm_pretrained_weights and not weights_follow,
                lora=lora,
                saved_files=vlm_files,
            )
        return CompactBackbone(
            codebook_size=codebook_size,
            num_action_tokens=config.layout.positions,
            state_dim=state_dim,
            image_height=config.image_size,
            image_width=config.image_size * cameras,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            num_heads=config.num_heads,
            ff_mult=config.ff_mult,
            dropout=config.dropout,
        )

    @classmethod
    def from_pretrained(cls, pretrained_name_or_path: Any, *, strict: bool = True, **kwargs: Any):
        """As LeRobot's, strict by default; the tokenizer (and the VLM) are rebuilt from the checkpoint's own folders,
        then every weight is loaded from the checkpoint, so no download and no tokenizer_path are needed."""
        vlm_files = saved_subfolder(pretrained_name_or_path, VLM_FILES, **kwargs)
        tokenizer_files = saved_subfolder(pretrained_name_or_path, TOKENIZER_FILES, **kwargs)
        plan_files = saved_subfolder(pretrained_name_or_path, PLAN_TOKENIZER_FILES, **kwargs)
        return super().from_pretrained(
            pretrained_name_or_path,
            strict=strict,
            weights_follow=True,
            vlm_files=vlm_files,
            tokenizer_files=tokenizer_files,
            plan_tokenizer_files=plan_files,
            **kwargs,
        )

    def _save_pretrained(self, save_directory: Path, state_dict: dict[str, Tensor] | None = None) -> None:
        super()._save_pretrained(save_directory, state_dict=state_dict)
        self.tokenizer.save_pretrained(Path(save_directory) / TOKENIZER_FILES)
        if self.plan_source is not None and self.plan_source is not self.tokenizer:
            self.plan_source.save_pretrained(Path(save_directory) / PLAN_TOKENIZER_FILES)
        if isinstance(self.backbone, SmolVLMBackbone):
            self.backbone.save_files(Path(save_directory) / VLM_FILES)

    @property
    def _no_split_modules(self) -> list[str]:
        """The blocks FSDP shards one by one when LeRobot trains under `accelerate launch` with FSDP."""
        return transformer_block_names(self)

    def get_optim_params(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def card_sections(self) -> list[tuple[str, Rows]]:
        cfg, info = self.config, self.config.tokenizer_info
        if cfg.backbone == "smolvlm":
            lora = cfg.lora_rank or "full fine-tuning"
            backbone = [("backbone", f"smolvlm: `{cfg.vlm_model_name}`"), ("LoRA rank", lora)]
        else:
            backbone = [("backbone", f"compact: width {cfg.hidden_size}, {cfg.num_layers} layers")]
        budget = info["fixed_length"] or f"variable, at most {self.layout.positions} (end token)"
        tokenizer = [("kind", f"`{info['kind']}`"), ("chunk", f"{info['chunk_length']} steps x {info['action_dim']}-D"),
                     ("vocabulary", info["vocab_size"]), ("tokens per chunk", budget),
                     ("levels", len(info["token_levels"]) if info.get("token_levels") else 1)]  # fmt: skip
        embodiment = getattr(self.tokenizer, "embodiment", None)
        if embodiment is not None:
            spec = self.tokenizer.tokenizer.resolve(embodiment)[1]
            tokenizer.append(("embodiment", f"`{embodiment}`: {spec.fps:g} Hz, {spec.action_dim}-D"))
        steps = cfg.n_action_steps or info["chunk_length"]
        head = [("head", f"`{cfg.type}`"), ("image size", cfg.image_size), ("steps executed per chunk", steps)]
        return [("Backbone and head", backbone + head), ("Action tokenizer", tokenizer)]

    def reset(self) -> None:
        self._action_queue: deque[Tensor] = deque()
        self._last_action: Tensor | None = None
        self._episode += 1

    # ------------------------------------------------------------------ inputs
    def _images(self, batch: dict[str, Any]) -> Tensor:
        """Every camera resized to image_size x image_size, side by side: [B, 3, S, S * cameras]."""
        size = self.config.image_size
        views = []
        for key in self.image_keys:
            if key not in batch:
                raise ValueError(f"batch has no {key!r}: the policy was trained with cameras {self.image_keys}")
            image = batch[key].float()
            if image.shape[-2:] != (size, size):
                image = F.interpolate(image, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            views.append(image)
        return torch.cat(views, dim=-1)

    def _prefix(self, batch: dict[str, Any]) -> Tensor:
        images = self._images(batch)
        tasks = batch.get("task")
        if tasks is None:
            tasks = [""] * len(images)
        elif isinstance(tasks, str):
            tasks = [tasks] * len(images)
        state = batch.get(self.state_key) if self.state_key else None
        if state is not None and not torch.isfinite(state).all():
            raise ValueError(f"{self.state_key} has non-finite values (NaN or inf): expected finite robot state")
        self._observed_state = None if state is None else state.detach()
        return self.backbone.prefix(images, state, list(tasks))

    def target_tokens(self, actions: Tensor, is_pad: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Raw actions [B, >= T, D] -> teacher-forcing ids and cross-entropy targets, both [B, positions]; with plan
        tokens, the first H_p actions' coarse plan (`is_pad` [B, >= H_p]: steps past the episode's end) comes first."""
        device, actions = actions.device, actions.detach().float().cpu()
        exec_tokens = self.tokenizer.encode(actions[:, : self.config.chunk_length])
        if self.plan_source is None:
            inputs, targets = self.layout.targets(exec_tokens)
        else:
            horizon = self.config.plan_horizon
            if actions.shape[1] < horizon:
                raise ValueError(f"action shape={tuple(actions.shape)}: plan tokens need the next H_p={horizon} "
                                 "actions (action_delta_indices)")  # fmt: skip
            pad = None if is_pad is None else is_pad[:, :horizon].cpu()
            plan = self.plan_source.coarse_plan(actions[:, :horizon], pad)
            inputs, targets = self.layout.targets(self.plan_tokenizer.encode(plan), exec_tokens)
        return inputs.to(device), targets.to(device)

    # ---------------------------------------------------------------- training
    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        inputs, targets = trim_untrained(*self.target_tokens(batch[ACTION], batch.get(f"{ACTION}_is_pad")))
        logits = self.backbone(self._prefix(batch), inputs)
        loss, logs = token_cross_entropy(logits, targets)
        if self.plan_source is not None:  # how well the executed part alone is predicted
            plan = self.layout.plan_positions
            logs["exec_token_accuracy"] = token_accuracy(logits[:, plan:], targets[:, plan:])
        return self.tracked(loss, logs)

    # --------------------------------------------------------------- inference
    def observe(self, batch: dict[str, Any]) -> Any:
        """What the head decodes from, computed once per observation (RTC's candidates share it): the backbone's
        prefix (compact: camera patches, state and task tokens; smolvlm: the prompt and its pixels)."""
        return self._prefix(batch)

    @torch.no_grad()
    def tokens_from(self, observation: Any, temperature: float | None = None) -> Tensor:
        """[B, positions] ids over the head's vocabulary (the tokenizer's, plus the end token if the budget varies),
        decoded at the config's temperature unless one is given."""
        cfg = self.config
        temperature = cfg.temperature if temperature is None else temperature
        return self.backbone.generate(observation, temperature, cfg.top_k, self.layout.end_token, self.decoding_rule)

    def chunk_from(self, observation: Any, temperature: float | None = None) -> Tensor:
        """[B, chunk_length, D] actions in raw units, decoded from the head's tokens."""
        return self.decode_tokens(self.tokens_from(observation, temperature))

    def predict_tokens(self, batch: dict[str, Any], temperature: float | None = None) -> Tensor:
        return self.tokens_from(self.observe(batch), temperature)

    def predict_chunk(self, batch: dict[str, Any], temperature: float | None = None) -> Tensor:
        return self.chunk_from(self.observe(batch), temperature)

    def supports_rtc(self) -> bool:
        """lerobot-rollout --inference.type=rtc runs this head: see predict_action_chunk."""
        return True

    @torch.no_grad()
    def predict_action_chunk(
        self,
        batch: dict[str, Any],
        inference_delay: int | None = None,
        prev_chunk_left_over: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """[B, chunk_length, D] actions in raw units. Under real-time chunking (a leftover given), the usual chunk
        and rtc_candidates - 1 sampled ones (one batch, from the same observed prefix) are decoded and the one whose
        action at the switch step is closest to the leftover's is returned (policies/continuation.py)."""
        cfg = self.config
        observation = self.observe(batch)
        chunk = self.chunk_from(observation)
        if prev_chunk_left_over is None or cfg.rtc_candidates == 1:
            return chunk
        others = cfg.rtc_candidates - 1
        sampled = self.chunk_from(repeat_rows(observation, others), cfg.rtc_temperature)
        candidates = torch.cat([chunk[:, None], sampled.unflatten(0, (len(chunk), others))], 1)
        return choose_continuation(candidates, prev_chunk_left_over, inference_delay or 0)

    def decode_tokens(self, ids: Tensor) -> Tensor:
        """Head ids -> chunk. A row the tokenizer had to repair (wrong length, ids outside its range) is counted and,
        unless on_repaired_chunk="execute", replaced by no motion, like a row that decodes to non-finite values."""
        return self.executable_chunk(self.tokenizer.decode(self.layout.sequences(ids)), ids.device)

    def executable_chunk(self, decoded: DecodedChunks, device: torch.device) -> Tensor:
        """The tokenizer's chunks [B, T, D] on `device`, with the rows that must not run replaced by no motion."""
        chunk = decoded.actions.to(device, torch.float32)
        repaired = decoded.repaired.to(device)
        invalid = ~torch.isfinite(chunk).flatten(1).all(-1)
        if self.config.on_repaired_chunk == "no_motion":
            invalid |= repaired
        self.repaired_chunks += int(repaired.sum())
        if invalid.any():
            count = int(invalid.sum())
            self.invalid_chunks += count
            chunk = torch.where(invalid[:, None, None], self._no_motion(len(chunk), chunk.device), chunk)
            logger.warning("%d invalid action-token sequence(s): executing a no-motion chunk instead", count)
        return chunk

    def _no_motion(self, batch: int, device: torch.device) -> Tensor:
        """Zeros (delta actions), or, for "hold" (absolute actions), the last executed action held, or before the
        first one the observed position, [B, T, D]."""
        shape = (batch, self.config.chunk_length, self.config.action_dim)
        if self.config.invalid_action != "hold":
            return torch.zeros(shape, device=device)
        if self._last_action is not None:
            return self._last_action.to(device).unsqueeze(1).expand(shape).clone()
        if bool(self.state_holdable) and self._observed_state is not None:
            position = self._observed_state.float() * self.state_raw_scale + self.state_raw_offset
            return position.to(device).unsqueeze(1).expand(shape).clone()
        raise RuntimeError(
            "invalid_action='hold': the first chunk is invalid and there is nothing to hold (no action executed yet, "
            f"and no {self.state_key or 'observation.state'} of the action's size {self.config.action_dim} with "
            "dataset stats to read the position from)"
        )

    def drop_queued_actions(self) -> None:
        """Discard the queued actions so the next select_action predicts afresh (e.g. after the instruction changed),
        keeping the rest of the episode state; the queue is `_action_queue`, the name LeRobot's own
        `drop_queued_actions` clears in the versions that have it."""
        self._action_queue.clear()

    @torch.no_grad()
    def select_action(self, batch: dict[str, Any], **kwargs: Any) -> Tensor:
        """[B, D]: the next action of the current chunk; a new chunk is predicted when the queue runs out."""
        if not self._action_queue:
            invalid, repaired = self.invalid_chunks, self.repaired_chunks
            chunk = self.predict_chunk(batch)[:, : self.config.steps_per_prediction]
            if self.rollout_log is not None:
                self.rollout_log.record(self._episode, chunk, self._last_action,
                                        self.invalid_chunks - invalid, self.repaired_chunks - repaired)  # fmt: skip
            self._action_queue.extend(chunk.transpose(0, 1))
        action = self._action_queue.popleft()
        self._last_action = action
        return action
