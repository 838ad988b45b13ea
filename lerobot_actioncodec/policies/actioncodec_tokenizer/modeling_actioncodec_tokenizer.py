"""`actioncodec_tokenizer` policy: trains an ActionCodecTokenizer inside lerobot-train.

The batch's `action` holds one chunk plus `tcl_shift` extra steps, in raw dataset units; the tokenizer
normalizes it itself. `forward` returns the weighted objective and, as logged metrics, every loss term,
reconstruction error (normalized and raw units), overlap rate between the chunk at t and at t + shift,
and codebook usage / perplexity of the batch.
"""

import math
from dataclasses import dataclass
from typing import Any

import torch
from lerobot.policies.pretrained import PreTrainedPolicy
from torch import Tensor, nn

from ...coarse_plan import PlanSettings
from ...codec.losses import info_nce, latent_l1, reconstruction_loss, same_text_labels, siglip_loss
from ...evaluation import episode_plan_statistics, load_episode_actions
from ...metrics import artifact_entropy, codebook_perplexity, codebook_usage, overlap_rate
from ...model_card import ModelCardMixin, Rows
from ...normalization import offset_and_scale
from ...text_encoders import make_text_encoder
from ...tokenizers.actioncodec import ActionCodecTokenizer, eval_mode
from .configuration_actioncodec_tokenizer import ActionCodecTokenizerConfig

# Per-step artifact-entropy estimate: a few chunks of the batch, a few noise draws (normalized units).
ARTIFACT_CHUNKS, ARTIFACT_SAMPLES, ARTIFACT_NOISE_STD = 4, 4, 0.02


@dataclass
class GroupPass:
    """One embodiment's rows of a training batch through the codec (normalized units)."""

    embodiment: int
    fps: float
    rows: Tensor | None  # batch rows of this embodiment; None: the whole batch
    chunk: Tensor  # [b, T, Dmax] the chunk at t
    dims: Tensor  # [Dmax] the embodiment's real dimensions
    mask: Tensor  # [b, T, Dmax] real steps x real dimensions
    latents: Tensor  # [b, n, dim] chunk at t, before quantization
    latents_next: Tensor  # [b, n, dim] chunk at t + tcl_shift
    vq_loss: Tensor
    codes: Tensor  # [b, n] level-0 codes of the chunk at t
    reconstruction: Tensor  # [b, T, Dmax]
    pair_valid: Tensor  # [b] the chunk at t + shift is real


NOT_A_CONTROLLER = (
    "actioncodec_tokenizer is an action tokenizer, not a control policy: it has no observations to act on. "
    "Train a VLA policy on top of it (e.g. --policy.type=actioncodec --policy.tokenizer_path=<this checkpoint>)."
)


def resolve_plan_stats(config: ActionCodecTokenizerConfig, meta: Any) -> None:
    """Give each plan mode the statistics of its embodiment's coarse plans in the training dataset (every window of
    every episode; co-training: the episodes of that embodiment), once: they are kept in the plan mode's spec, so
    config.json carries them and a reload does not recompute."""
    pending = {e: p for e, p in config.plan_modes.items() if not config.embodiments[p].action_stats}
    if not pending:
        return
    data = load_episode_actions(meta.repo_id, meta.root, config.embodiment_column)
    names = list(config.embodiments)
    for execution_name, plan_name in pending.items():
        execution, plan = config.embodiments[execution_name], config.embodiments[plan_name]
        episodes = data.actions if data.embodiments is None else data.of_embodiment(names.index(execution_name))
        if not episodes:
            raise ValueError(f"embodiment {execution_name!r} has no episode in {meta.root}: its plan mode needs "
                             "the statistics of its plans; expected a dataset with its episodes")  # fmt: skip
        plan.action_stats = episode_plan_statistics(episodes, PlanSettings.of(plan, execution), execution.action_dim)


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
        if config.plan_modes and meta is not None:
            resolve_plan_stats(config, meta)
        self.config = config
        self.tokenizer = ActionCodecTokenizer(config.architecture(), config.embodiments, config.embodiment)
        self.embodiment_index, _ = self.tokenizer.resolve(config.embodiment)
        if config.embodiment_column is not None:  # co-training: each embodiment's own stats, not the pooled ones
            for index, name in enumerate(self.tokenizer.embodiment_names):
                offset, scale = offset_and_scale(config.embodiments[name].action_stats, config.normalization)
                self.tokenizer.normalizer.set_stats(index, offset, scale)
        elif dataset_stats is not None and "action" in dataset_stats:
            offset, scale = offset_and_scale(dataset_stats["action"], config.normalization)
            self.tokenizer.normalizer.set_stats(self.embodiment_index, offset, scale)
        for plan_name in config.plan_modes.values():
            index, plan = self.tokenizer.resolve(plan_name)
            if plan.action_stats:
                self.tokenizer.normalizer.set_stats(index, *offset_and_scale(plan.action_stats, config.normalization))

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

    def _embodiment_groups(self, batch: dict[str, Any]) -> list[tuple[int, Tensor | None]]:
        """(embodiment index, the batch rows of that embodiment) per embodiment in the batch; rows None: all of it."""
        column = self.config.embodiment_column
        if column is None:
            return [(self.embodiment_index, None)]
        if column not in batch:
            raise ValueError(f"batch has no {column!r}: embodiment_column expects a dataset written by "
                             "actioncodec-merge-datasets")  # fmt: skip
        index = batch[column].reshape(len(batch[column]), -1)[:, 0].long()
        names = self.config.trained_embodiments  # first in the registry: plan modes come after them
        unknown = index[(index < 0) | (index >= len(names))]
        if len(unknown):
            raise ValueError(f"batch[{column!r}] holds {unknown.unique().tolist()}: expected embodiment indices "
                             f"0..{len(names) - 1} ({names})")  # fmt: skip
        return [(e, (index == e).nonzero().flatten()) for e in index.unique().tolist()]

    def _group_pass(self, batch: dict[str, Any], embodiment: int, rows: Tensor | None) -> GroupPass:
        """Encode, quantize and decode one embodiment's rows: normalized with its stats, chunked at its length,
        prompted with its soft prompt, timed at its rate."""
        spec = self.tokenizer.embodiments[self.tokenizer.embodiment_names[embodiment]]
        actions, is_pad = self._batch_actions(batch, rows, spec.chunk_length + self.config.tcl_shift)
        actions = actions[..., : spec.action_dim]
        steps, shift = spec.chunk_length, self.config.tcl_shift
        valid = ~is_pad
        return self._codec_pass(embodiment, rows, actions[:, :steps], actions[:, shift : shift + steps],
                                valid[:, :steps], valid[:, shift + steps - 1])  # fmt: skip

    def _plan_pass(self, batch: dict[str, Any], embodiment: int, rows: Tensor | None) -> GroupPass:
        """The pass of an embodiment's plan mode over its rows: the coarse plans (coarse_plan.py) of the windows at
        t and t + tcl_shift."""
        cfg, tokenizer = self.config, self.tokenizer
        name = tokenizer.embodiment_names[embodiment]
        index, _ = tokenizer.resolve(cfg.plan_modes[name])
        settings, shift = tokenizer.plan_settings(name), cfg.tcl_shift
        actions, is_pad = self._batch_actions(batch, rows, settings.horizon + shift)
        actions = actions[..., : tokenizer.embodiments[name].action_dim]
        now, _ = settings.plans(actions[:, : settings.horizon], is_pad[:, : settings.horizon])
        later, later_pad = settings.plans(actions[:, shift:], is_pad[:, shift:])
        # Every plan step is reconstructed, those past the episode's end too: they hold what a policy's plan target
        # holds there (no motion, the gripper where it ended), and in short episodes (MetaWorld's 1 s) they are most
        # of a plan. The shifted plan is a positive while its window starts inside the episode.
        return self._codec_pass(index, rows, now, later, torch.ones_like(now[..., 0], dtype=torch.bool),
                                ~later_pad[:, 0])  # fmt: skip

    @staticmethod
    def _batch_actions(batch: dict[str, Any], rows: Tensor | None, need: int) -> tuple[Tensor, Tensor]:
        """The first `need` steps of the batch's raw actions (of `rows`) and their padding flags, [b, need, D]."""
        actions, is_pad = batch["action"], batch.get("action_is_pad")
        if actions.ndim != 3 or actions.shape[1] < need:
            raise ValueError(
                f"batch['action'] shape={tuple(actions.shape)}: expected [B, >= {need}, D] (the chunk or plan "
                "window plus tcl_shift)"
            )
        if is_pad is None:
            is_pad = torch.zeros(actions.shape[:2], dtype=torch.bool, device=actions.device)
        if rows is not None:
            actions, is_pad = actions[rows], is_pad[rows]
        return actions[:, :need].float(), is_pad[:, :need].bool()

    def _codec_pass(
        self, embodiment: int, rows: Tensor | None, chunk: Tensor, shifted: Tensor, valid: Tensor, pair_valid: Tensor
    ) -> GroupPass:
        """Raw chunks at t and t + shift [b, T, D] of one embodiment (or mode) through the codec; `valid` [b, T]
        flags the real steps of the chunk at t, `pair_valid` [b] whether the shifted one is real."""
        codec = self.tokenizer.codec
        spec = self.tokenizer.embodiments[self.tokenizer.embodiment_names[embodiment]]
        steps = chunk.shape[1]
        dims = torch.zeros(self.tokenizer.arch.max_action_dim, dtype=torch.bool, device=chunk.device)
        dims[: spec.action_dim] = True
        chunk = self.tokenizer.normalize(chunk, embodiment)
        shifted = self.tokenizer.normalize(shifted, embodiment)
        latents, latents_next = codec.encode_latents(torch.cat([chunk, shifted]), spec.fps, embodiment).chunk(2)
        quantized = codec.quantizer(latents)
        reconstruction = codec.decode_quantized(quantized.quantized, steps, spec.fps, embodiment)
        mask = valid[:, :, None] & dims[None, None, :]
        return GroupPass(embodiment, spec.fps, rows, chunk, dims, mask, latents, latents_next, quantized.loss,
                         quantized.indices[:, 0], reconstruction, pair_valid)  # fmt: skip

    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        cfg, codec = self.config, self.tokenizer.codec
        groups = self._embodiment_groups(batch)
        passes = [self._group_pass(batch, e, rows) for e, rows in groups] if cfg.train_execution else []
        # the joint-mode tokenizer trains both modes on every batch, equally (the plan passes come last)
        plan_passes = [self._plan_pass(batch, e, rows) for e, rows in groups] if cfg.plan_modes else []
        passes = passes + plan_passes
        latents = torch.cat([p.latents for p in passes])
        latents_next = torch.cat([p.latents_next for p in passes])
        pair_valid = torch.cat([p.pair_valid for p in passes])
        counts = [p.mask.sum().clamp_min(1) for p in passes]
        reconstruction = sum(
            reconstruction_loss(p.reconstruction, p.chunk, p.mask, cfg.reconstruction_loss) * n
            for p, n in zip(passes, counts, strict=True)
        ) / sum(counts)
        vq = sum(p.vq_loss * len(p.chunk) for p in passes) / len(latents)

        terms = {"reconstruction": (cfg.reconstruction_weight, reconstruction), "vq": (cfg.vq_weight, vq)}
        if not cfg.rvq_post_training:
            if cfg.tcl_weight > 0:
                terms["tcl"] = (cfg.tcl_weight, self._tcl_loss(latents, latents_next, pair_valid))
            if cfg.code_consistency_weight > 0:
                distance = codec.quantizer.code_distance(latents_next, torch.cat([p.codes for p in passes]))
                terms["code_consistency"] = (cfg.code_consistency_weight, distance[pair_valid].mean())
            if self.text_encoder is not None:
                terms["clip"] = (cfg.clip_weight, self._clip_loss(latents, self._tasks(batch, passes)))
            if cfg.latent_l1_weight > 0:
                terms["latent_l1"] = (cfg.latent_l1_weight, latent_l1(latents))
            if cfg.perturbation_weight > 0:
                perturbed = torch.cat([
                    codec.encode_latents(p.chunk + torch.randn_like(p.chunk) * cfg.perturbation_sigma * p.dims,
                                         p.fps, p.embodiment)
                    for p in passes
                ])  # fmt: skip
                nce = info_nce(latents.flatten(1), perturbed.flatten(1), cfg.perturbation_temperature)
                terms["perturbation"] = (cfg.perturbation_weight, nce)
        loss = sum(weight * value for weight, value in terms.values())
        logs = {f"loss_{name}": value.item() for name, (_, value) in terms.items()}
        logs.update(self._metrics(passes, latents, latents_next, pair_valid))
        if plan_passes:  # the plan modes' own reconstruction error
            error = sum(((p.reconstruction - p.chunk).abs() * p.mask).sum() for p in plan_passes)
            logs["plan_mae_normalized"] = (error / sum(p.mask.sum() for p in plan_passes).clamp_min(1)).item()
        logs["artifact_entropy_bits"] = self._artifact_entropy(passes[0])
        return self.tracked(loss, logs)

    def _tcl_loss(self, latents: Tensor, latents_next: Tensor, pair_valid: Tensor) -> Tensor:
        """Time-contrastive InfoNCE (eq. 5) between the chunks at t and t + shift, per chunk or per token."""
        cfg = self.config
        if cfg.tcl_granularity == "chunk":
            return info_nce(latents.flatten(1), latents_next.flatten(1), cfg.tcl_temperature, pair_valid)
        tokens = latents.shape[1]
        return info_nce(latents.flatten(0, 1), latents_next.flatten(0, 1), cfg.tcl_temperature,
                        pair_valid.repeat_interleave(tokens))  # fmt: skip

    @staticmethod
    def _tasks(batch: dict[str, Any], passes: list[GroupPass]) -> list[str]:
        """The batch's task strings in the order of the passes' rows."""
        tasks = batch.get("task")
        if not isinstance(tasks, list | tuple) or len(tasks) != len(batch["action"]):
            raise ValueError(
                f"batch['task']={tasks!r:.80}: the CLIP loss needs one task string per sample "
                "(or set --policy.clip_weight=0)"
            )
        return [task for p in passes for task in (tasks if p.rows is None else [tasks[i] for i in p.rows.tolist()])]

    def _clip_loss(self, latents: Tensor, tasks: list[str]) -> Tensor:
        text = self.text_to_clip(self.text_encoder(tasks))
        labels = same_text_labels(tasks, latents.device)
        return siglip_loss(self.action_to_clip(latents.mean(1)), text, labels, self.clip_log_scale, self.clip_bias)

    @torch.no_grad()
    def _metrics(
        self, passes: list[GroupPass], latents: Tensor, latents_next: Tensor, pair_valid: Tensor
    ) -> dict[str, float]:
        """Reconstruction errors (normalized and raw units) over every embodiment's real entries, and the batch's
        codebook usage, perplexity and overlap rate."""
        scales = self.tokenizer.normalizer.scale
        errors = [(p.reconstruction - p.chunk).abs() for p in passes]
        raw_errors = [err * scales[p.embodiment] for err, p in zip(errors, passes, strict=True)]
        masks = [p.mask for p in passes]
        real = torch.cat([p.chunk.masked_select(p.mask) for p in passes])
        mad = (real - real.mean()).abs().mean().clamp_min(1e-12) if real.numel() else real.new_ones(())

        def mean_over_real(values: list[Tensor]) -> float:
            total = sum((v * m).sum() for v, m in zip(values, masks, strict=True))
            return float(total / sum(m.sum() for m in masks).clamp_min(1))

        # Both chunks are looked up after this step's codebook update, as encode() would see them.
        with eval_mode(self.tokenizer.codec.quantizer):
            tokens = self.tokenizer.codec.quantizer(latents, depth=1).indices[:, 0]
            tokens_next = self.tokenizer.codec.quantizer(latents_next, depth=1).indices[:, 0]
        logs = {
            "mae_normalized": mean_over_real(errors),
            "mse_normalized": mean_over_real([e.pow(2) for e in errors]),
            "mae_raw": mean_over_real(raw_errors),
            "mse_raw": mean_over_real([e.pow(2) for e in raw_errors]),
            "codebook_usage": codebook_usage(tokens, self.config.codebook_size),
            "codebook_perplexity": codebook_perplexity(tokens, self.config.codebook_size),
        }
        logs["relative_mae"] = logs["mae_normalized"] / mad.item()
        if pair_valid.any():
            logs["overlap_rate"] = overlap_rate(tokens[pair_valid], tokens_next[pair_valid])
        return logs

    @torch.no_grad()
    def _artifact_entropy(self, group: GroupPass) -> float:
        codec = self.tokenizer.codec
        with eval_mode(codec):
            return artifact_entropy(
                lambda a: codec.encode_indices(a, group.fps, group.embodiment, depth=1),
                group.chunk[:ARTIFACT_CHUNKS],
                ARTIFACT_NOISE_STD * group.dims,
                num_samples=ARTIFACT_SAMPLES,
            )

    def card_sections(self) -> list[tuple[str, Rows]]:
        cfg = self.config
        tokens = [("tokens per chunk", cfg.num_tokens), ("codebook size", cfg.codebook_size),
                  ("RVQ levels", cfg.rvq_levels), ("width", cfg.dim), ("text encoder (SigLIP term)", cfg.text_encoder),
                  ("normalization", cfg.normalization)]  # fmt: skip
        embodiments = [(f"`{name}`", f"{spec.fps:g} Hz, {spec.action_dim}-D, {spec.chunk_length} steps per chunk")
                       for name, spec in cfg.embodiments.items()]  # fmt: skip
        return [("Tokenizer", tokens), ("Embodiments", embodiments)]

    # ---------------------------------------------------------------- inference
    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs: Any) -> Tensor:
        raise NotImplementedError(NOT_A_CONTROLLER)

    def select_action(self, batch: dict[str, Tensor], **kwargs: Any) -> Tensor:
        raise NotImplementedError(NOT_A_CONTROLLER)
