"""Loss terms of the tokenizer objective (paper eq. 1, 5, 6 and appendix A.2.1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def reconstruction_loss(prediction: Tensor, target: Tensor, mask: Tensor, kind: str = "l1") -> Tensor:
    """Mean L1 or squared error over the entries where `mask` is True (real steps x real dims)."""
    if kind == "l1":
        err = (prediction - target).abs()
    elif kind == "mse":
        err = (prediction - target).pow(2)
    else:
        raise ValueError(f"reconstruction_loss={kind!r}: expected 'l1' or 'mse'")
    return masked_mean(err, mask)


def info_nce(anchor: Tensor, positive: Tensor, temperature: float, valid: Tensor | None = None) -> Tensor:
    """Symmetric InfoNCE with cosine similarity; row i's positive is positive[i], other rows are negatives.

    anchor, positive: [B, F]. `valid` [B] drops rows (as anchors and as negatives) that have no real positive.
    """
    if valid is not None:
        anchor, positive = anchor[valid], positive[valid]
    if anchor.shape[0] < 2:
        return anchor.sum() * 0.0
    logits = F.normalize(anchor, dim=-1) @ F.normalize(positive, dim=-1).T / temperature
    labels = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


def same_text_labels(texts: list[str], device: torch.device) -> Tensor:
    """[B, B] with +1 where the two samples share a task string, -1 elsewhere."""
    ids = {t: i for i, t in enumerate(dict.fromkeys(texts))}
    idx = torch.tensor([ids[t] for t in texts], device=device)
    return (idx[:, None] == idx[None, :]).float() * 2 - 1


def siglip_loss(action_emb: Tensor, text_emb: Tensor, labels: Tensor, log_scale: Tensor, bias: Tensor) -> Tensor:
    """Sigmoid contrastive loss (paper eq. 6): -mean log sigmoid(l_ij (t <a_i, y_j> + b)).

    Unlike a pure pairing, l_ij = +1 for every pair with the same task text: several chunks of one task
    in a batch are positives for each other, not negatives.
    """
    logits = F.normalize(action_emb, dim=-1) @ F.normalize(text_emb, dim=-1).T * log_scale.exp() + bias
    return -F.logsigmoid(labels * logits).mean()


def latent_l1(latents: Tensor) -> Tensor:
    return latents.abs().mean()
