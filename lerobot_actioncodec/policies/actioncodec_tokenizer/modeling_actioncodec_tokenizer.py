"""`actioncodec_tokenizer` policy: trains an ActionCodecTokenizer inside lerobot-train.

The batch's `action` holds one chunk plus `tcl_shift` extra steps, in raw dataset units; the tokenizer
normalizes it itself. `forward` returns the weighted objective and, as logged metrics, every loss term,
reconstruction error (normalized and raw units), overlap rate between the chunk at t and at t + shift,
and codebook usage / perplexity of the batch.
"""

import math
from typing import Any

import torch
from lerobot.policies.pretrained import PreTrainedPolicy
from torch import Tensor, nn

from ...codec.losses import info_nce, latent_l1, masked_mean, reconstruction_loss, same_text_labels, siglip_loss
from ...metrics import artifact_entropy, codebook_perplexity, codebook_usage, overlap_rate
from ...model_card import ModelCardMixin, Rows
from ...normalization import offset_and_scale
from ...text_encoders import make_text_encoder
from ...tokenizers.actioncodec import ActionCodecTokenizer, eval_mode
from .configuration_actioncodec_tokenizer import ActionCodecTokenizerConfig

# Per-step artifact-entropy estimate: a few chunks of the batch, a few noise draws (normalized units).
ARTIFACT_CHUNKS, ARTIFACT_SAMPLES, ARTIFACT_NOISE_STD = 4, 4, 0.02

NOT_A_CONTROLLER = (
    "actioncodec_tokenizer is an action tokenizer, not a control policy: it has no observations to act on. "
    "Train a VLA policy on top of it (e.g. --policy.type=actioncodec --policy.tokenizer_path=<this checkpoint>)."
)


class ActionCodecTokenizerPolicy(ModelCardMixin, PreTrainedPolicy):
    config_class = ActionCodecTokenizerConfig
    name = "actioncodec_tokenizer"
    _no_split_modules = ["PerceiverLayer"]  # what FSDP shards one by one (lerobot_actioncodec.fsdp)
    card_summary = (
        "An ActionCodec action tokenizer (a Perceiver VQ autoencoder trained for a high overlap rate between "
        "adjacent chunks): a chunk of actions in the dataset's units in, a fixed number of tokens out, and back. "
        "Load it with `lerobot_actioncodec.ActionCodecTokenizer.from_pretrained`, or train a VLA policy on it with "
        "`--policy.type=actioncodec --policy.tokenizer_path=<this checkpoint>`."
    )

    def __init__(self, config: ActionCodecTokenizerConfig, dataset_stats: dict | None = None, **kwargs: Any):
        super().__init__(config)
        config.validate_features()
        meta = kwargs.get("dataset_meta")
        names = None
        if meta is not None:
            names = (meta.features.get("action") or {}).get("names")
        config.resolve_embodiment(getattr(meta, "fps", None), names if isinstance(names, list) else None)
        self.config = config
        self.tokenizer = ActionCodecTokenizer(config.architecture(), config.embodiments, config.embodiment)
        self.embodiment_index, self.spec = self.tokenizer.resolve(config.embodiment)
        if dataset_stats is not None and "action" in dataset_stats:
            offset, scale = offset_and_scale(dataset_stats["action"], config.normalization)
            self.tokenizer.normalizer.set_stats(self.embodiment_index, offset, scale)

        self.text_encoder = None
        if config.clip_weight > 0 and not config.rvq_post_training:
            self.text_encoder = make_text_encoder(config.text_encoder, config.clip_dim)
            self.action_to_clip = nn.Linear(config.dim, config.clip_dim)
            self.text_to_clip = nn.Linear(self.text_encoder.out_dim, config.clip_dim)
            self.clip_log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
            self.clip_bias = nn.Parameter(torch.tensor(-10.0))
        if config.rvq_post_training:
            self.tokenizer.codec.freeze_encoder_and_first_level()

    @classmethod
    def from_pretrained(cls, pretrained_name_or_path: Any, *, strict: bool = True, **kwargs: Any):
        """As LeRobot's, but strict by default: a checkpoint with missing or extra weights is an error."""
        return super().from_pretrained(pretrained_name_or_path, strict=strict, **kwargs)

    # ------------------------------------------------------------------ training
    def get_optim_params(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def reset(self) -> None:
        """Nothing to reset: the tokenizer keeps no state between calls."""

    def _chunks(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor]:
        """-> normalized actions [B, T + shift, Dmax], step validity [B, T + shift], dim validity [Dmax]."""
        actions = batch["action"]
        need = self.spec.chunk_length + self.config.tcl_shift
        if actions.ndim != 3 or actions.shape[1] < need:
            raise ValueError(
                f"batch['action'] shape={tuple(actions.shape)}: expected [B, >= {need}, D] "
                f"(chunk_length={self.spec.chunk_length} + tcl_shift={self.config.tcl_shift})"
            )
        actions = actions[:, :need].float()
        is_pad = batch.get("action_is_pad")
        valid = torch.ones(actions.shape[:2], dtype=torch.bool, device=actions.device)
        if is_pad is not None:
            valid = ~is_pad[:, :need].bool()
        dims = torch.zeros(self.tokenizer.arch.max_action_dim, dtype=torch.bool, device=actions.device)
        dims[: self.spec.action_dim] = True
        return self.tokenizer.normalize(actions, self.embodiment_index), valid, dims

    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        cfg, codec, e, fps = self.config, self.tokenizer.codec, self.embodiment_index, self.spec.fps
        steps, shift = self.spec.chunk_length, cfg.tcl_shift
        x, valid, dims = self._chunks(batch)
        chunk, shifted = x[:, :steps], x[:, shift : shift + steps]
        both = codec.encode_latents(torch.cat([chunk, shifted]), fps, e)
        latents, latents_next = both.chunk(2)
        quantized = codec.quantizer(latents)
        reconstruction = codec.decode_quantized(quantized.quantized, steps, fps, e)
        mask = valid[:, :steps, None] & dims[None, None, :]
        pair_valid = valid[:, shift + steps - 1]

        terms = {
            "reconstruction": (
                cfg.reconstruction_weight,
                reconstruction_loss(reconstruction, chunk, mask, cfg.reconstruction_loss),
            ),
            "vq": (cfg.vq_weight, quantized.loss),
        }  # fmt: skip
        if not cfg.rvq_post_training:
            if cfg.tcl_weight > 0:
                terms["tcl"] = (
                    cfg.tcl_weight,
                    info_nce(latents.flatten(1), latents_next.flatten(1), cfg.tcl_temperature, pair_valid),
                )
            if self.text_encoder is not None:
                terms["clip"] = (cfg.clip_weight, self._clip_loss(latents, batch))
            if cfg.latent_l1_weight > 0:
                terms["latent_l1"] = (cfg.latent_l1_weight, latent_l1(latents))
            if cfg.perturbation_weight > 0:
                noise = torch.randn_like(chunk) * cfg.perturbation_sigma * dims
                perturbed = codec.encode_latents(chunk + noise, fps, e)
                nce = info_nce(latents.flatten(1), perturbed.flatten(1), cfg.perturbation_temperature)
                terms["perturbation"] = (cfg.perturbation_weight, nce)
        loss = sum(weight * value for weight, value in terms.values())
        logs = {f"loss_{name}": value.item() for name, (_, value) in terms.items()}
        logs.update(self._metrics(reconstruction, chunk, mask, latents, latents_next, pair_valid))
        logs["artifact_entropy_bits"] = self._artifact_entropy(chunk, dims)
        return self.tracked(loss, logs)

    def card_sections(self) -> list[tuple[str, Rows]]:
        cfg = self.config
        tokens = [("tokens per chunk", cfg.num_tokens), ("codebook size", cfg.codebook_size),
                  ("RVQ levels", cfg.rvq_levels), ("width", cfg.dim), ("text encoder (SigLIP term)", cfg.text_encoder),
                  ("normalization", cfg.normalization)]  # fmt: skip
        embodiments = [(f"`{name}`", f"{spec.fps:g} Hz, {spec.action_dim}-D, {spec.chunk_length} steps per chunk")
                       for name, spec in cfg.embodiments.items()]  # fmt: skip
        return [("Tokenizer", tokens), ("Embodiments", embodiments)]

    def _clip_loss(self, latents: Tensor, batch: dict[str, Any]) -> Tensor:
        tasks = batch.get("task")
        if not isinstance(tasks, list | tuple) or len(tasks) != latents.shape[0]:
            raise ValueError(
                f"batch['task']={tasks!r:.80}: the CLIP loss needs one task string per sample "
                "(or set --policy.clip_weight=0)"
            )
        text = self.text_to_clip(self.text_encoder(list(tasks)))
        labels = same_text_labels(list(tasks), latents.device)
        return siglip_loss(self.action_to_clip(latents.mean(1)), text, labels, self.clip_log_scale, self.clip_bias)

    @torch.no_grad()
    def _metrics(
        self,
        reconstruction: Tensor,
        chunk: Tensor,
        mask: Tensor,
        latents: Tensor,
        latents_next: Tensor,
        pair_valid: Tensor,
    ) -> dict[str, float]:
        scale = self.tokenizer.normalizer.scale[self.embodiment_index]
        err = (reconstruction - chunk).abs()
        real = chunk.masked_select(mask).view(-1)
        mad = (real - real.mean()).abs().mean().clamp_min(1e-12) if real.numel() else real.new_ones(())
        # Both chunks are looked up after this step's codebook update, as encode() would see them.
        with eval_mode(self.tokenizer.codec.quantizer):
            tokens = self.tokenizer.codec.quantizer(latents, depth=1).indices[:, 0]
            tokens_next = self.tokenizer.codec.quantizer(latents_next, depth=1).indices[:, 0]
        logs = {
            "mae_normalized": masked_mean(err, mask).item(),
            "mse_normalized": masked_mean(err.pow(2), mask).item(),
            "mae_raw": masked_mean(err * scale, mask).item(),
            "mse_raw": masked_mean((err * scale).pow(2), mask).item(),
            "codebook_usage": codebook_usage(tokens, self.config.codebook_size),
            "codebook_perplexity": codebook_perplexity(tokens, self.config.codebook_size),
        }
        logs["relative_mae"] = logs["mae_normalized"] / mad.item()
        if pair_valid.any():
            logs["overlap_rate"] = overlap_rate(tokens[pair_valid], tokens_next[pair_valid])
        return logs

    @torch.no_grad()
    def _artifact_entropy(self, chunk: Tensor, dims: Tensor) -> float:
        codec, e, fps = self.tokenizer.codec, self.embodiment_index, self.spec.fps
        with eval_mode(codec):
            return artifact_entropy(
                lambda a: codec.encode_indices(a, fps, e, depth=1),
                chunk[:ARTIFACT_CHUNKS],
                ARTIFACT_NOISE_STD * dims,
                num_samples=ARTIFACT_SAMPLES,
            )

    # ---------------------------------------------------------------- inference
    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs: Any) -> Tensor:
        raise NotImplementedError(NOT_A_CONTROLLER)

    def select_action(self, batch: dict[str, Tensor], **kwargs: Any) -> Tensor:
        raise NotImplementedError(NOT_A_CONTROLLER)
