"""The ActionCodec tokenizer behind the shared interface, and loading any saved tokenizer by its kind."""

from __future__ import annotations

import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from ..coarse_plan import PlanSettings
from ..tokenizer_checkpoint import PEER_POLICY_TYPE, TOKENIZER_POLICY_TYPE, checkpoint_type, read_tokenizer_config
from .actioncodec import ActionCodecTokenizer
from .binning import BinningTokenizer
from .c2c import C2CTokenizer
from .fast import FastTokenizer
from .interface import (
    CONFIG_FILE,
    ActionTokenizer,
    DecodedChunks,
    ResidualActionTokenizer,
    TokenLevel,
    TokenSequences,
    check_chunks,
    check_level_ids,
    fit_to_length,
    read_config,
)
from .interface import write_config as write_tokenizer_config
from .nac import NACTokenizer
from .vqvla import VQVLATokenizer

WEIGHTS_FILE = "model.safetensors"


class ActionCodecActionTokenizer:
    """ActionCodec through the interface: n tokens per level over S codes, levels flattened level-major.

    `levels=1` is the VQ form (level 0 only); more levels read the RVQ form's residual levels too.
    """

    kind = "actioncodec"

    def __init__(
        self, tokenizer: ActionCodecTokenizer, config: dict[str, Any], embodiment: str | None = None, levels: int = 1
    ):
        if not 1 <= levels <= tokenizer.num_levels:
            raise ValueError(f"levels={levels}: expected 1..{tokenizer.num_levels} (the tokenizer's levels)")
        self.tokenizer, self.config, self.levels = tokenizer, config, levels
        self.embodiment = embodiment or tokenizer.default_embodiment
        _, spec = tokenizer.resolve(self.embodiment)
        self.chunk_length, self.action_dim = spec.chunk_length, spec.action_dim
        self.absolute_positions = spec.absolute_positions

    @classmethod
    def from_checkpoint(cls, path: str | Path, embodiment: str | None = None, levels: int = 1):
        """From a lerobot-train `actioncodec_tokenizer` checkpoint's pretrained_model/ directory."""
        return cls(ActionCodecTokenizer.from_pretrained(path), read_tokenizer_config(path), embodiment, levels)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.codebook_size

    @property
    def fixed_length(self) -> int:
        return self.tokenizer.num_tokens * self.levels

    @property
    def token_levels(self) -> list[TokenLevel]:
        """Every level has the n positions and reuses the ids 0..S-1 (each level has its own codebook)."""
        return [TokenLevel(self.tokenizer.num_tokens, 0, self.vocab_size)] * self.levels

    @property
    def plan_horizon(self) -> int | None:
        """H_p of the embodiment's plan mode (a joint-mode tokenizer); None without one."""
        has_plan = self.tokenizer.plan_mode(self.embodiment) is not None
        return self.plan_settings.horizon if has_plan else None

    @property
    def plan_settings(self) -> PlanSettings:
        """H_p, K, gripper dimensions and action kind of the embodiment's plan mode."""
        return self.tokenizer.plan_settings(self.embodiment)

    def plan_tokenizer(self) -> ActionCodecActionTokenizer:
        """The same network in its plan mode: coarse plans [B, K, D] (`coarse_plan`) in, the same codebook's ids."""
        plan = self.tokenizer._require_plan_mode(self.embodiment)
        return ActionCodecActionTokenizer(self.tokenizer, self.config, plan, self.levels)

    def coarse_plan(self, actions: Tensor, is_pad: Tensor | None = None) -> Tensor:
        """The next H_p raw actions [B, H_p, D] -> the coarse plan [B, K, D] the plan mode encodes."""
        return self.plan_settings.plans(actions, is_pad)[0]

    def with_levels(self, levels: int) -> ActionCodecActionTokenizer:
        """The same network read to another depth (1: the VQ form; the tokenizer's num_levels: the full RVQ)."""
        return ActionCodecActionTokenizer(self.tokenizer, self.config, self.embodiment, levels)

    def decode_levels(self, ids: list[Tensor]) -> DecodedChunks:
        check_level_ids(ids, self.token_levels)
        return DecodedChunks.exact(self.tokenizer.decode(torch.stack(ids, 1), self.embodiment).cpu())

    def encode(self, actions: Tensor) -> TokenSequences:
        check_chunks(actions, self.chunk_length, self.action_dim)
        ids = self.tokenizer.encode(actions, self.embodiment, levels=self.levels)
        return TokenSequences.fixed(ids.reshape(len(actions), -1).cpu())

    def decode(self, tokens: TokenSequences) -> DecodedChunks:
        ids, repaired = fit_to_length(tokens, self.fixed_length, fill=0, vocab_size=self.vocab_size)
        grid = ids.reshape(len(ids), self.levels, self.tokenizer.num_tokens)
        return DecodedChunks(self.tokenizer.decode(grid, self.embodiment).cpu(), repaired)

    def save_pretrained(self, path: str | Path) -> None:
        settings = {"embodiment": self.embodiment, "levels": self.levels, "tokenizer_config": self.config}
        directory = write_tokenizer_config(path, self.kind, settings)
        save_file({k: v.contiguous() for k, v in self.tokenizer.state_dict().items()}, str(directory / WEIGHTS_FILE))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> ActionCodecActionTokenizer:
        config = read_config(path, cls.kind)
        tokenizer = ActionCodecTokenizer.from_config(config["tokenizer_config"])
        tokenizer.load_state_dict(load_file(str(Path(path) / WEIGHTS_FILE)))
        return cls(tokenizer.eval(), config["tokenizer_config"], config["embodiment"], config["levels"])


KINDS: dict[str, Any] = {
    "binning": BinningTokenizer,
    "fast": FastTokenizer,
    "vqvla": VQVLATokenizer,
    "nac": NACTokenizer,
    "c2c": C2CTokenizer,
    "actioncodec": ActionCodecActionTokenizer,
}


def load_action_tokenizer(path: str | Path, embodiment: str | None = None, all_levels: bool = False) -> ActionTokenizer:
    """A saved tokenizer of any kind, or an `actioncodec_tokenizer` lerobot-train checkpoint. `embodiment` picks
    one of an ActionCodec tokenizer's embodiments (the other kinds know only the one they were fitted on).
    `all_levels` reads every RVQ level of an ActionCodec tokenizer (block-wise heads) instead of the saved depth
    (a checkpoint's: 1, the VQ form the paper's other policies use); the other kinds always use all theirs."""
    directory = Path(path)
    if (directory / CONFIG_FILE).is_file():
        kind = read_config(directory).get("kind")
        if kind not in KINDS:
            raise ValueError(f"{directory / CONFIG_FILE}: kind={kind!r}; expected one of {sorted(KINDS)}")
        tokenizer = KINDS[kind].from_pretrained(directory)
    elif checkpoint_type(directory) == PEER_POLICY_TYPE:
        from ..policies.peer_tokenizer.modeling_peer_tokenizer import PeerTokenizerPolicy

        with redirect_stdout(sys.stderr):  # LeRobot prints a loading message; keep stdout for results
            tokenizer = PeerTokenizerPolicy.from_pretrained(directory).tokenizer()
    elif (directory / "config.json").is_file():
        tokenizer = ActionCodecActionTokenizer.from_checkpoint(directory)
    else:
        raise ValueError(
            f"path={str(path)!r}: expected a saved action tokenizer ({CONFIG_FILE}) or an {TOKENIZER_POLICY_TYPE} "
            f"or {PEER_POLICY_TYPE} checkpoint's pretrained_model/ directory"
        )
    if not isinstance(tokenizer, ActionCodecActionTokenizer):
        if embodiment is not None:
            raise ValueError(f"embodiment={embodiment!r}: only actioncodec tokenizers have embodiments, {path} is a "
                             f"{tokenizer.kind} tokenizer; leave embodiment unset")  # fmt: skip
        return tokenizer
    if embodiment is not None:
        tokenizer = ActionCodecActionTokenizer(tokenizer.tokenizer, tokenizer.config, embodiment, tokenizer.levels)
    return tokenizer.with_levels(tokenizer.tokenizer.num_levels) if all_levels else tokenizer


def describe_tokenizer(tokenizer: ActionTokenizer) -> dict[str, Any]:
    """The facts a policy config needs before any weight is loaded: shapes, vocabulary, budget, for residual
    tokenizers the levels ([length, first_id, num_codes] each), and whether the actions are absolute positions
    (known from an ActionCodec tokenizer's embodiment spec; None for tokenizers that carry none), and H_p, the actions a
    coarse plan summarises, for a joint-mode ActionCodec tokenizer (None for any other)."""
    levels = tokenizer.token_levels if isinstance(tokenizer, ResidualActionTokenizer) else None
    return {
        "kind": tokenizer.kind,
        "chunk_length": tokenizer.chunk_length,
        "action_dim": tokenizer.action_dim,
        "vocab_size": tokenizer.vocab_size,
        "fixed_length": tokenizer.fixed_length,
        "longest_fit_sequence": getattr(tokenizer, "longest_fit_sequence", None),
        "token_levels": [list(level) for level in levels] if levels is not None else None,
        "absolute_positions": getattr(tokenizer, "absolute_positions", None),
        "plan_horizon": getattr(tokenizer, "plan_horizon", None),
    }
