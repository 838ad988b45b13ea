"""`peer_tokenizer` policy: trains a learned peer tokenizer (VQ-VLA, NAC or c2c) inside lerobot-train.

The batch's `action` (raw units) is cut to one chunk and standardized with the dataset's action mean/std, which
are kept as buffers so the checkpoint is a complete tokenizer; `forward` returns the network's own objective and
its terms as logged metrics. A joint-mode c2c (`plan_seconds` > 0) also encodes the coarse plan of the batch's
first H_p actions in its plan mode, standardized by the statistics of the dataset's plans (computed when
lerobot-train builds it, kept as buffers), and the two modes' objectives are summed, as `C2CTokenizer.fit_joint`
does. `tokenizer()` gives the trained `ActionTokenizer` (what `load_action_tokenizer` and
`--policy.tokenizer_path` of the actioncodec policy use).
"""

from typing import Any

import torch
from lerobot.policies.pretrained import PreTrainedPolicy
from torch import Tensor

from ...coarse_plan import gripper_dimensions
from ...evaluation import episode_plan_statistics, load_episode_actions
from ...model_card import ModelCardMixin, Rows
from ...tokenizers.c2c import EXECUTION, PLAN
from ...tokenizers.learned import LearnedChunkTokenizer
from ..presets import chunking_fps
from .configuration_peer_tokenizer import TOKENIZERS, PeerTokenizerConfig

NOT_A_CONTROLLER = (
    "peer_tokenizer is an action tokenizer, not a control policy. Train a VLA on top of it: "
    "--policy.type=actioncodec --policy.tokenizer_path=<this checkpoint's pretrained_model/>"
)


class PeerTokenizerPolicy(ModelCardMixin, PreTrainedPolicy):
    config_class = PeerTokenizerConfig
    name = "peer_tokenizer"

    def __init__(self, config: PeerTokenizerConfig, dataset_stats: dict | None = None, **kwargs: Any):
        super().__init__(config)
        config.validate_features()
        meta = kwargs.get("dataset_meta")
        # stored in config.json, so the checkpoint knows its chunk length
        config.fps = chunking_fps(config.type, config.fps, getattr(meta, "fps", None), config.max_fps)
        dim = config.output_features["action"].shape[0]
        plan = {}
        if config.plan_seconds:
            if config.gripper_dims is None:
                names = ((getattr(meta, "features", None) or {}).get("action") or {}).get("names")
                config.gripper_dims = gripper_dimensions(names) if isinstance(names, list) else []
            plan = {"plan_horizon": config.plan_horizon, "gripper_dims": list(config.gripper_dims),
                    "absolute": config.absolute_actions}  # fmt: skip
        kind = TOKENIZERS[config.arch]
        self.settings = kind.settings_class(config.chunk_length, dim, **config.arch_options, **plan)
        self.network = kind.network_class(self.settings)
        self.register_buffer("action_mean", torch.zeros(dim))
        self.register_buffer("action_std", torch.ones(dim))
        if dataset_stats is not None and "action" in dataset_stats:
            self._set_statistics("action", dataset_stats["action"])
        self.plan_settings = self.settings.plan_settings if config.plan_seconds else None
        if self.plan_settings is not None:
            self.register_buffer("plan_mean", torch.zeros(dim))
            self.register_buffer("plan_std", torch.ones(dim))
            if meta is not None:
                episodes = load_episode_actions(meta.repo_id, meta.root).actions
                self._set_statistics("plan", episode_plan_statistics(episodes, self.plan_settings, dim))

    def _set_statistics(self, prefix: str, stats: dict[str, Any]) -> None:
        """`<prefix>_mean` / `<prefix>_std` from LeRobot-style statistics."""
        dim = self.action_mean.numel()
        getattr(self, f"{prefix}_mean").copy_(torch.as_tensor(stats["mean"], dtype=torch.float32).reshape(dim))
        getattr(self, f"{prefix}_std").copy_(
            torch.as_tensor(stats["std"], dtype=torch.float32).reshape(dim).clamp_min(1e-6)
        )

    def tokenizer(self) -> LearnedChunkTokenizer:
        """The trained network behind the ActionTokenizer interface (on the CPU, in eval mode)."""
        kind = TOKENIZERS[self.config.arch]
        plan = (
            {} if self.plan_settings is None else {"plan_mean": self.plan_mean.cpu(), "plan_std": self.plan_std.cpu()}
        )
        return kind(self.settings, self.action_mean.cpu(), self.action_std.cpu(), self.network.cpu().eval(), **plan)

    def get_optim_params(self) -> Any:
        return self.network.parameters()

    def reset(self) -> None:
        pass

    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        actions = batch["action"].float()
        need = max(self.settings.chunk_length, self.plan_settings.horizon if self.plan_settings else 0)
        if actions.ndim != 3 or actions.shape[1] < need:
            raise ValueError(f"batch['action'] shape={tuple(actions.shape)}: expected [B, >= {need}, D] (a chunk, or "
                             "the plan window of a joint-mode tokenizer)")  # fmt: skip
        chunk = (actions[:, : self.settings.chunk_length] - self.action_mean) / self.action_std
        if self.plan_settings is None:
            return self.tracked(*self.network.training_loss(chunk))
        loss, logs = self.network.training_loss(chunk, mode=EXECUTION)
        horizon = self.plan_settings.horizon
        is_pad = batch.get("action_is_pad")
        # Plan steps past the episode's end are encoded as the plan targets hold them (no motion, gripper held).
        plans, _ = self.plan_settings.plans(actions[:, :horizon], None if is_pad is None else is_pad[:, :horizon])
        plan_loss, plan_logs = self.network.training_loss((plans - self.plan_mean) / self.plan_std, mode=PLAN)
        logs = {**logs, **{f"plan_{name}": value for name, value in plan_logs.items()}}
        return self.tracked(loss + plan_loss, logs)

    @property
    def card_summary(self) -> str:
        return (f"A {self.config.arch} action tokenizer (a peer of ActionCodec in lerobot-actioncodec's benchmark), "
                "trained with lerobot-train. Use it as `--policy.tokenizer_path` of the package's VLA policies, or "
                "score it with `actioncodec-bench`.")  # fmt: skip

    def card_sections(self) -> list[tuple[str, Rows]]:
        settings = [(f"`{name}`", value) for name, value in vars(self.settings).items()]
        return [("Tokenizer", [("architecture", f"`{self.config.arch}`"), ("fps", self.config.fps), *settings])]

    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs: Any) -> Tensor:
        raise NotImplementedError(NOT_A_CONTROLLER)

    def select_action(self, batch: dict[str, Tensor], **kwargs: Any) -> Tensor:
        raise NotImplementedError(NOT_A_CONTROLLER)
