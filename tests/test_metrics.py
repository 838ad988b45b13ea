import math

import pytest
import torch

from lerobot_actioncodec.metrics import (
    artifact_entropy,
    chance_overlap_rate,
    codebook_perplexity,
    codebook_usage,
    distinct_sequence_share,
    overlap_rate,
    reconstruction_errors,
)


def test_overlap_rate_identical_and_disjoint():
    a = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert overlap_rate(a, a) == 1.0
    assert overlap_rate(a, a + 100) == 0.0


def test_overlap_rate_is_position_wise_mean_over_pairs():
    t = torch.tensor([[1, 2, 3, 4], [1, 1, 1, 1]])
    nxt = torch.tensor([[1, 2, 9, 9], [1, 9, 9, 9]])  # 2/4 and 1/4 positions agree
    assert overlap_rate(t, nxt) == pytest.approx((0.5 + 0.25) / 2)


def test_overlap_rate_ignores_bag_of_tokens_matches():
    # Same multiset, different positions: no position agrees, so no overlap.
    assert overlap_rate(torch.tensor([[1, 2, 3, 4]]), torch.tensor([[4, 3, 2, 1]])) == 0.0


def test_overlap_rate_variable_length_counts_missing_positions_as_mismatch():
    assert overlap_rate([[1, 2, 3]], [[1, 2]]) == pytest.approx(2 / 3)
    assert overlap_rate([[]], [[]]) == 1.0


def test_overlap_rate_rvq_levels_flattened():
    t = torch.tensor([[[1, 2], [3, 4]]])  # [B=1, L=2, n=2]
    nxt = torch.tensor([[[1, 2], [0, 0]]])
    assert overlap_rate(t, nxt) == 0.5


def test_overlap_rate_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="expected equal"):
        overlap_rate(torch.zeros(2, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="at least one"):
        overlap_rate([], [])


def test_codebook_usage_and_perplexity():
    tokens = torch.tensor([[0, 1, 2, 3]])
    assert codebook_usage(tokens, 8) == 0.5
    assert codebook_perplexity(tokens, 8) == pytest.approx(4.0)
    assert codebook_perplexity(torch.zeros(1, 5, dtype=torch.long), 8) == pytest.approx(1.0)


def test_reconstruction_errors_relative_to_mean_absolute_deviation():
    target = torch.tensor([[[0.0], [2.0]], [[0.0], [2.0]]])  # per-dim mean 1, MAD 1
    pred = target + 0.5
    errs = reconstruction_errors(pred, target)
    assert errs["mae"] == pytest.approx(0.5)
    assert errs["mse"] == pytest.approx(0.25)
    assert errs["relative_mae"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="prediction"):
        reconstruction_errors(pred[:1], target)


def test_artifact_entropy_zero_for_stable_and_high_for_noisy_encoders():
    actions = torch.randn(4, 10, 3)
    stable = artifact_entropy(lambda a: torch.zeros(a.shape[0], 4, dtype=torch.long), actions, 0.1)
    assert stable == 0.0
    sign = artifact_entropy(lambda a: (a[:, :4, 0] > 0).long(), torch.zeros(4, 10, 3), 0.1, num_samples=64)
    assert sign == pytest.approx(1.0, abs=0.15)  # a fair coin per position: ~1 bit
    with pytest.raises(ValueError, match="num_samples"):
        artifact_entropy(lambda a: a, actions, 0.1, num_samples=1)
    assert math.isfinite(sign)


def test_chance_overlap_compares_each_sequence_with_the_one_half_the_set_away():
    rows = [[1, 2], [1, 3], [4, 2], [5, 5]]  # pairs (0, 2), (1, 3), (2, 0), (3, 1): 1/2, 0, 1/2, 0
    assert chance_overlap_rate(rows) == pytest.approx(0.25)
    assert chance_overlap_rate([[7, 7]] * 5) == 1.0  # a constant tokenizer overlaps with anything
    with pytest.raises(ValueError, match="at least two"):
        chance_overlap_rate([[1]])


def test_distinct_sequence_share():
    assert distinct_sequence_share([[1, 2], [1, 2], [3], [1, 2, 0]]) == 0.75
    assert distinct_sequence_share(torch.zeros(10, 4, dtype=torch.long)) == 0.1
