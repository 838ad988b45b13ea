"""`peer_tokenizer` policy: trains a learned peer tokenizer (VQ-VLA or NAC) inside lerobot-train.

The batch's `action` (raw units) is cut to one chunk and standardized with the dataset's action mean/std, which
are kept as buffers so the checkpoint is a complete tokenizer; `forward` returns the network's own objective and
its terms as logged metrics. `tokenizer()` gives the trained `ActionTokenizer` (what `load_action_tokenizer` and
`--policy.tokenizer_path` of the actioncodec policy use).
"""

from typing import Any

import torch
from lerobot.policies.pretrained import PreTrainedPolicy
from torch import Tensor

from ...model_card import ModelCardMixin, Rows
from ...tokenizers.learned import LearnedChunkTokenizer
from ...tokenizers.nac import NACTokenizer
from ...tokenizers.vqvla import VQVLATokenizer
from ..presets import chunking_fps
from .configuration_peer_tokenizer import PeerTokenizerConfig

TOKENIZERS: dict[str, type[LearnedChunkTokenizer]] = {"vqvla": VQVLATokenizer, "nac": NACTokenizer}
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
        kind = TOKENIZERS[config.arch]
        try:
            self.settings = kind.settings_class(config.chunk_length, config.output_features["action"].shape[0],
                                                **config.arch_options)  # fmt: skip
        except TypeError as error:
            raise ValueError(f"arch_options={config.arch_options}: not {config.arch} settings ({error})") from error
        self.network = kind.network_class(self.settings)
        dim = self.settings.action_dim
        self.register_buffer("action_mean", torch.zeros(dim))
        self.register_buffer("action_std", torch.ones(dim))
        if dataset_stats is not None and "action" in dataset_stats:
            stats = dataset_stats["action"]
            self.action_mean.copy_(torch.as_tensor(stats["mean"], dtype=torch.float32).reshape(dim))
            self.action_std.copy_(torch.as_tensor(stats["std"], dtype=torch.float32).reshape(dim).clamp_min(1e-6))

    def tokenizer(self) -> LearnedChunkTokenizer:
        """The trained network behind the ActionTokenizer interface (on the CPU, in eval mode)."""
        kind = TOKENIZERS[self.config.arch]
        return kind(self.settings, self.action_mean.cpu(), self.action_std.cpu(), self.network.cpu().eval())

    def get_optim_params(self) -> Any:
        return self.network.parameters()

    def reset(self) -> None:
        pass

    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, float]]:
        actions = batch["action"][:, : self.settings.chunk_length].float()
        return self.tracked(*self.network.training_loss((actions - self.action_mean) / self.action_std))

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
