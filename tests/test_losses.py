"""Each term of the objective, trained alone on a toy batch, goes down."""

import pytest
import torch

from lerobot_actioncodec.codec.losses import info_nce, same_text_labels, siglip_loss

from .helpers import tiny_policy, train_steps, training_batch

ALL_OFF = dict(reconstruction_weight=0.0, vq_weight=0.0, tcl_weight=0.0, clip_weight=0.0, latent_l1_weight=0.0)
TERMS = {
    "reconstruction": dict(reconstruction_weight=1.0),
    "vq": dict(vq_weight=1.0, reconstruction_weight=1.0),
    "tcl": dict(tcl_weight=1.0),
    "clip": dict(clip_weight=1.0),
    "latent_l1": dict(latent_l1_weight=1.0),
    "perturbation": dict(perturbation_weight=1.0),
}


@pytest.mark.parametrize("term", sorted(TERMS))
def test_loss_term_decreases(term):
    policy = tiny_policy(**{**ALL_OFF, **TERMS[term]})
    history = train_steps(policy, 40, training_batch(16), lr=3e-3)
    first = sum(h[f"loss_{term}"] for h in history[:3]) / 3
    last = sum(h[f"loss_{term}"] for h in history[-3:]) / 3
    assert last < first * 0.9, f"loss_{term}: {first:.4f} -> {last:.4f}"


def test_info_nce_prefers_matching_pairs():
    x = torch.randn(8, 16)
    assert info_nce(x, x, 0.1) < info_nce(x, torch.randn(8, 16), 0.1)
    assert info_nce(x, x, 0.1, valid=torch.tensor([True] + [False] * 7)) == 0.0


def test_siglip_treats_same_task_as_positive():
    labels = same_text_labels(["a", "b", "a"], torch.device("cpu"))
    assert torch.equal(labels, torch.tensor([[1.0, -1, 1], [-1, 1, -1], [1, -1, 1]]))
    text = torch.tensor([[1.0, 0], [0, 1], [1, 0]])
    aligned = siglip_loss(text.clone(), text, labels, torch.tensor(2.0), torch.tensor(0.0))
    crossed = siglip_loss(text.flip(1), text, labels, torch.tensor(2.0), torch.tensor(0.0))
    assert aligned < crossed


def test_training_logs_metrics():
    loss, logs = tiny_policy()(training_batch(8))
    assert loss.ndim == 0
    for key in ("mae_normalized", "mae_raw", "mse_raw", "relative_mae", "overlap_rate", "codebook_usage",
                "codebook_perplexity", "loss_tcl", "loss_clip", "artifact_entropy_bits"):  # fmt: skip
        assert isinstance(logs[key], float), key
