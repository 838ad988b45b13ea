"""`actioncodec` policy: cameras + state + task -> n ActionCodec tokens (autoregressive) -> an action chunk.

Training: the embedded, frozen tokenizer turns the batch's raw action chunk into n target tokens and the
backbone learns them with cross-entropy on the action positions only. Inference: constrained decoding of
exactly n tokens, the tokenizer decodes them to a chunk in raw units, and `select_action` executes
`n_action_steps` of it from a queue. A chunk that cannot be decoded becomes a no-motion chunk, counted in
`invalid_chunks`, never an exception in the control loop.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from lerobot.configs.types import FeatureType
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.utils.constants import ACTION
from torch import Tensor, nn

from ...backbones.compact import CompactBackbone
from ...backbones.smolvlm import LoRASettings, SmolVLMBackbone
from ...tokenizers.actioncodec import ActionCodecTokenizer
from .configuration_actioncodec import ActionCodecConfig

logger = logging.getLogger(__name__)
VLM_FILES = "vlm"  # in a smolvlm policy's checkpoint: the expanded tokenizer and the VLM config


def saved_vlm_files(pretrained_name_or_path: Any, **hub_kwargs: Any) -> Path | None:
    """The checkpoint's `vlm/` folder: a local directory's, or fetched from a hub repository; None if absent."""
    local = Path(pretrained_name_or_path) / VLM_FILES
    if Path(pretrained_name_or_path).is_dir():
        return local if local.is_dir() else None
    from huggingface_hub import snapshot_download

    keys = ("revision", "cache_dir", "force_download", "token", "local_files_only")
    root = snapshot_download(
        str(pretrained_name_or_path),
        allow_patterns=[f"{VLM_FILES}/*"],
        **{k: hub_kwargs[k] for k in keys if k in hub_kwargs},
    )
    found = Path(root) / VLM_FILES
    return found if found.is_dir() else None


class ActionCodecPolicy(PreTrainedPolicy):
    config_class = ActionCodecConfig
    name = "actioncodec"

    def __init__(
        self,
        config: ActionCodecConfig,
        dataset_stats: dict | None = None,
        weights_follow: bool = False,
        vlm_files: Path | None = None,
        **kwargs: Any,
    ):
        """`weights_follow`: from_pretrained loads every weight (the tokenizer's too) right after construction.
        `vlm_files`: a checkpoint's `vlm/` folder (smolvlm: its expanded tokenizer and config)."""
        super().__init__(config)
        config.validate_features()
        self.tokenizer = self._build_tokenizer(config, weights_follow)
        self.tokenizer.requires_grad_(False)
        self.embodiment = config.embodiment_name
        self.spec = config.spec
        self._check_tokenizer_agrees()
        self.image_keys = sorted(config.image_features)
        state_keys = [k for k, f in config.input_features.items() if f.type is FeatureType.STATE]
        self.state_key = state_keys[0] if state_keys else None
        state_dim = config.input_features[self.state_key].shape[0] if self.state_key else 0
        self.backbone = self._build_backbone(config, state_dim, len(self.image_keys), weights_follow, vlm_files)
        self.invalid_chunks = 0
        self.reset()

    @staticmethod
    def _build_tokenizer(config: ActionCodecConfig, weights_follow: bool) -> ActionCodecTokenizer:
        if weights_follow:
            return ActionCodecTokenizer.from_config(config.tokenizer_config)
        if config.tokenizer_path is None or not (Path(config.tokenizer_path) / "model.safetensors").is_file():
            raise ValueError(
                f"tokenizer_path={config.tokenizer_path!r}: expected a trained actioncodec_tokenizer checkpoint "
                "(pretrained_model/ with config.json and model.safetensors)"
            )
        return ActionCodecTokenizer.from_pretrained(config.tokenizer_path)

    @staticmethod
    def _build_backbone(
        config: ActionCodecConfig, state_dim: int, cameras: int, weights_follow: bool, vlm_files: Path | None
    ) -> CompactBackbone | SmolVLMBackbone:
        """`weights_follow`: the VLM's pretrained weights are not loaded, the checkpoint's replace them."""
        if config.backbone == "smolvlm":
            lora = LoRASettings(config.lora_rank, config.lora_alpha, config.lora_dropout)
            return SmolVLMBackbone(
                config.vlm_model_name,
                codebook_size=config.codebook_size,
                num_action_tokens=config.num_action_tokens,
                pretrained_weights=config.vlm_pretrained_weights and not weights_follow,
                lora=lora,
                saved_files=vlm_files,
            )
        return CompactBackbone(
            codebook_size=config.codebook_size,
            num_action_tokens=config.num_action_tokens,
            state_dim=state_dim,
            image_height=config.image_size,
            image_width=config.image_size * cameras,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            num_heads=config.num_heads,
            ff_mult=config.ff_mult,
            dropout=config.dropout,
        )

    def _check_tokenizer_agrees(self) -> None:
        """The config's view of the tokenizer (vocab, chunk, action dim) must be the loaded tokenizer's."""
        _, spec = self.tokenizer.resolve(self.embodiment)
        expected = {
            "codebook_size": (self.config.codebook_size, self.tokenizer.codebook_size),
            "num_tokens": (self.config.num_action_tokens, self.tokenizer.num_tokens),
            "chunk_length": (self.spec.chunk_length, spec.chunk_length),
            "action_dim": (self.spec.action_dim, spec.action_dim),
        }
        for name, (configured, actual) in expected.items():
            if configured != actual:
                raise ValueError(f"tokenizer {name}={actual} but the policy config expects {configured}")

    @classmethod
    def from_pretrained(cls, pretrained_name_or_path: Any, *, strict: bool = True, **kwargs: Any):
        """As LeRobot's, strict by default; the tokenizer (and the VLM) are rebuilt from the stored files, then
        every weight is loaded from the checkpoint, so no download and no tokenizer_path are needed."""
        vlm_files = saved_vlm_files(pretrained_name_or_path, **kwargs)
        return super().from_pretrained(
            pretrained_name_or_path, strict=strict, weights_follow=True, vlm_files=vlm_files, **kwargs
        )

    def _save_pretrained(self, save_directory: Path, state_dict: dict[str, Tensor] | None = None) -> None:
        super()._save_pretrained(save_directory, state_dict=state_dict)
        if isinstance(self.backbone, SmolVLMBackbone):
            self.backbone.save_files(Path(save_directory) / VLM_FILES)

    def get_optim_params(self) -> list[nn.Parameter]:
        return [p for p in self.backbone.parameters() if p.requires_grad]

    def reset(self) -> None:
        self._queue: deque[Tensor] = deque()
        self._last_action: Tensor | None = None

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
        return self.backbone.prefix(images, state, list(tasks))

    def target_tokens(self, actions: Tensor) -> Tensor:
        """Raw action chunks [B, T, D] -> level-0 token ids [B, n]."""
        chunk = actions[:, : self.spec.chunk_length]
        return self.tokenizer.encode(chunk, self.embodiment, levels=1).reshape(len(chunk), -1)

    # ---------------------------------------------------------------- training
    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        tokens = self.target_tokens(batch[ACTION])
        logits = self.backbone(self._prefix(batch), tokens)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))
        accuracy = (logits.argmax(-1) == tokens).float().mean().item()
        return loss, {"token_accuracy": accuracy}

    # --------------------------------------------------------------- inference
    @torch.no_grad()
    def predict_tokens(self, batch: dict[str, Any]) -> Tensor:
        return self.backbone.generate(self._prefix(batch), self.config.temperature, self.config.top_k)

    @torch.no_grad()
    def predict_action_chunk(self, batch: dict[str, Any], **kwargs: Any) -> Tensor:
        """[B, chunk_length, D] actions in raw units."""
        return self.decode_tokens(self.predict_tokens(batch))

    def decode_tokens(self, tokens: Tensor) -> Tensor:
        """Tokens -> chunk; a row that is out of range or decodes to non-finite values becomes no motion."""
        batch = len(tokens)
        valid = ((tokens >= 0) & (tokens < self.tokenizer.codebook_size)).all(-1)
        valid &= tokens.shape[-1] == self.tokenizer.num_tokens
        chunk = self._no_motion(batch, tokens.device)
        if valid.any():
            decoded = self.tokenizer.decode(tokens[valid], self.embodiment).to(chunk.dtype)
            finite = torch.isfinite(decoded).flatten(1).all(-1)
            rows = valid.nonzero().squeeze(-1)
            chunk[rows[finite]] = decoded[finite]
            valid[rows[~finite]] = False
        invalid = int((~valid).sum())
        if invalid:
            self.invalid_chunks += invalid
            logger.warning("%d invalid action-token sequence(s): executing a no-motion chunk instead", invalid)
        return chunk

    def _no_motion(self, batch: int, device: torch.device) -> Tensor:
        """Zeros (delta actions) or the last executed action held (absolute actions), [B, T, D]."""
        shape = (batch, self.spec.chunk_length, self.spec.action_dim)
        if self.config.invalid_action == "hold" and self._last_action is not None:
            return self._last_action.to(device).unsqueeze(1).expand(shape).clone()
        return torch.zeros(shape, device=device)

    @torch.no_grad()
    def select_action(self, batch: dict[str, Any], **kwargs: Any) -> Tensor:
        """[B, D]: the next action of the current chunk; a new chunk is predicted when the queue runs out."""
        if not self._queue:
            chunk = self.predict_action_chunk(batch)[:, : self.config.steps_per_prediction]
            self._queue.extend(chunk.transpose(0, 1))
        action = self._queue.popleft()
        self._last_action = action
        return action
