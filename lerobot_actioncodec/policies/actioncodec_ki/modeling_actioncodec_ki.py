"""`actioncodec_ki` policy: knowledge insulation (paper A.4; pi0.5's recipe with ActionCodec tokens).

Training, in one backbone pass: the backbone learns the chunk's action tokens with the autoregressive
cross-entropy of `actioncodec`, and the same pass's prefix KV cache, cut from the autograd graph, conditions a
flow-matching action expert (`backbones/flow_expert.py`) that learns the velocity from noise to the chunk's
actions, standardized with the dataset's action mean and std (kept in the checkpoint). The loss is the sum; the
expert's gradient never reaches the backbone. Inference: the backbone encodes the observation once and LeRobot's
forward-Euler loop integrates the expert's velocity (`num_inference_steps`), with LeRobot's RTC guidance under
`lerobot-rollout --inference.type=rtc`; no token is decoded. `ki_inference="tokens"` decodes the backbone's
tokens instead. Everything else (tokenizer, processors, the queue, the no-motion fallback for a non-finite
chunk, save/load with the tokenizer and VLM files) is the autoregressive policy's.

Reused from LeRobot: `sample_noise`, `sample_time_beta` and `euler_integrate` (lerobot.policies.common.flow_matching),
the sine-cosine time embedding, and `RTCProcessor` (lerobot.policies.rtc), as pi0.5 and SmolVLA use them.
"""

import logging
from typing import Any

import torch
from lerobot.policies.common.flow_matching import euler_integrate, sample_noise, sample_time_beta
from lerobot.policies.rtc.modeling_rtc import RTCProcessor
from lerobot.utils.constants import ACTION
from torch import Tensor

from ...backbones.flow_expert import FlowMatchingExpert, insulated
from ...tokenizers.interface import DecodedChunks
from ...tokenizers.layout import trim_untrained
from ..actioncodec.modeling_actioncodec import ActionCodecPolicy, token_cross_entropy
from ..dataset_stats import NORMALIZER_EPS, stat_vector
from .configuration_actioncodec_ki import ActionCodecKIConfig

logger = logging.getLogger(__name__)


def action_mean_std(dataset_stats: dict | None, action_dim: int) -> tuple[Tensor, Tensor] | None:
    """The dataset's per-dimension action mean and std, float32 [D]; None without stats."""
    if dataset_stats is None or ACTION not in dataset_stats:
        return None
    values = []
    for name in ("mean", "std"):
        value = stat_vector(dataset_stats, ACTION, name)
        if value is None:
            raise ValueError(f"dataset stats of {ACTION!r} have no {name!r}: expected LeRobot's per-feature stats")
        if value.shape != (action_dim,):
            raise ValueError(f"dataset stats {ACTION}.{name} shape={tuple(value.shape)}: expected ({action_dim},)")
        values.append(value)
    return values[0], values[1]


class ActionCodecKIPolicy(ActionCodecPolicy):
    config_class = ActionCodecKIConfig
    name = "actioncodec_ki"
    card_summary = (
        "A knowledge-insulation vision-language-action policy of lerobot-actioncodec: the backbone learns its frozen "
        "action tokenizer's tokens autoregressively, and a flow-matching action expert reading the backbone's KV "
        "cache (with no gradient into it) produces continuous action chunks in the dataset's units."
    )

    def __init__(self, config: ActionCodecKIConfig, dataset_stats: dict | None = None, **kwargs: Any):
        super().__init__(config, dataset_stats, **kwargs)
        language = self.backbone.language_config
        self.expert = FlowMatchingExpert(
            language,
            chunk_length=config.chunk_length,
            action_dim=config.action_dim,
            hidden_size=config.expert_width(language.hidden_size),
            ff_mult=config.expert_ff_mult,
            dropout=config.dropout,
            min_period=config.min_period,
            max_period=config.max_period,
        )
        stats = action_mean_std(dataset_stats, config.action_dim)
        known = stats is not None
        mean, std = stats if known else (torch.zeros(config.action_dim), torch.ones(config.action_dim))
        # Saved with the weights: a loaded checkpoint standardizes as its training did.
        self.register_buffer("action_mean", mean)
        self.register_buffer("action_std", std)
        self.register_buffer("action_stats_known", torch.tensor(known))
        self.init_rtc_processor()

    # ------------------------------------------------------------------ LeRobot's RTC contract
    def supports_rtc(self) -> bool:
        return self.config.ki_inference == "flow"

    def init_rtc_processor(self) -> None:
        """LeRobot's RTC guidance from `config.rtc_config` (lerobot-rollout sets it, then calls this)."""
        rtc = self.config.rtc_config
        self.rtc_processor = RTCProcessor(rtc) if rtc is not None else None

    def _rtc_enabled(self) -> bool:
        return self.rtc_processor is not None and self.config.rtc_config.enabled

    # ------------------------------------------------------------------ action units
    def standardize(self, actions: Tensor) -> Tensor:
        return (actions - self.action_mean) / (self.action_std + NORMALIZER_EPS)

    def unstandardize(self, actions: Tensor) -> Tensor:
        return actions * (self.action_std + NORMALIZER_EPS) + self.action_mean

    # ---------------------------------------------------------------- training
    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        if not bool(self.action_stats_known):
            raise ValueError(
                "actioncodec_ki has no action stats: build it with the dataset's stats (lerobot-train passes them; "
                "make_policy(cfg, ds_meta=...)) so the flow expert works on standardized actions"
            )
        actions = batch[ACTION]
        inputs, targets = trim_untrained(*self.target_tokens(actions))
        logits, context = self.backbone.forward_with_context(self._prefix(batch), inputs)
        token_loss, logs = token_cross_entropy(logits, targets)
        flow_loss = self.flow_loss(insulated(context), actions[:, : self.config.chunk_length], batch)
        loss = token_loss + self.config.flow_loss_weight * flow_loss
        logs |= {"token_loss": token_loss.item(), "flow_loss": flow_loss.item()}
        return self.tracked(loss, logs)

    def flow_loss(self, context: Any, actions: Tensor, batch: dict[str, Any]) -> Tensor:
        """Flow-matching MSE of the expert's velocity on standardized actions [B, T, D], padded steps left out."""
        cfg = self.config
        target = self.standardize(actions.float())
        noise = sample_noise(target.shape, target.device)
        time = sample_time_beta(len(target), target.device, alpha=cfg.time_sampling_beta_alpha,
                                beta=cfg.time_sampling_beta_beta, scale=cfg.time_sampling_scale,
                                offset=cfg.time_sampling_offset)  # fmt: skip
        t = time[:, None, None]
        velocity = self.expert(context, t * noise + (1 - t) * target, time)
        errors = (velocity - (noise - target)).pow(2).mean(-1)  # [B, T]
        pad = batch.get(f"{ACTION}_is_pad")
        if pad is None:
            return errors.mean()
        real = ~pad[:, : errors.shape[1]].bool()
        return (errors * real).sum() / real.sum().clamp_min(1)

    # --------------------------------------------------------------- inference
    def predict_chunk(self, batch: dict[str, Any], temperature: float | None = None) -> Tensor:
        """The chunk select_action executes: integrated by the flow expert, or decoded from the backbone's tokens
        with ki_inference="tokens"."""
        if self.config.ki_inference == "tokens":
            return super().predict_chunk(batch, temperature)
        return self.predict_action_chunk(batch)

    @torch.no_grad()
    def predict_action_chunk(
        self,
        batch: dict[str, Any],
        noise: Tensor | None = None,
        inference_delay: int | None = None,
        prev_chunk_left_over: Tensor | None = None,
        execution_horizon: int | None = None,
        **kwargs: Any,
    ) -> Tensor:
        """[B, chunk_length, D] actions in raw units: integrated from `noise` (standard normal by default) with the
        expert's velocity; under RTC, guided towards `prev_chunk_left_over` (raw units, as this policy emitted
        them). A row with a non-finite value becomes no motion, counted in `invalid_chunks`."""
        if self.config.ki_inference == "tokens":
            return super().predict_action_chunk(batch, inference_delay, prev_chunk_left_over)
        context = self.backbone.encode_prefix(self._prefix(batch))
        batch_size = context.mask.shape[0]
        shape = (batch_size, self.config.chunk_length, self.config.action_dim)
        if noise is None:
            noise = sample_noise(shape, context.mask.device)
        elif tuple(noise.shape) != shape:
            raise ValueError(f"noise shape={tuple(noise.shape)}: expected {list(shape)}")
        if prev_chunk_left_over is not None:
            prev_chunk_left_over = self.standardize(prev_chunk_left_over.to(noise.device).float())
        chunk = euler_integrate(self.expert.velocity_field(context), noise, self.config.num_inference_steps,
                                rtc_processor=self.rtc_processor, rtc_enabled=self._rtc_enabled(),
                                inference_delay=inference_delay, prev_chunk_left_over=prev_chunk_left_over,
                                execution_horizon=execution_horizon)  # fmt: skip
        return self.executable_chunk(DecodedChunks.exact(self.unstandardize(chunk)), noise.device)
