"""FAST against LeRobot's shipped reference (molmoact2's `UniversalActionProcessor`, FAST's own code), and the
exact-length decoding that keeps an autoregressive head's FAST sequences decodable."""

import numpy as np
import torch

from lerobot_actioncodec.decoding import decode_autoregressively
from lerobot_actioncodec.tokenizers.fast import FastTokenizer
from lerobot_actioncodec.tokenizers.layout import ActionTokenLayout, exact_length_rule

from .helpers import FPS, smooth_actions

FIT_CHUNKS = smooth_actions(300, FPS, seed=3)
CHUNKS = smooth_actions(80, FPS, seed=4)


def _reference(ours: FastTokenizer):
    """The reference fitted on the same chunks, in the [-1, 1] units ours maps them to (the reference expects
    normalized actions; its policies normalize before it)."""
    from lerobot.policies.molmoact2.molmoact2_hf_model.action_tokenizer import UniversalActionProcessor

    def unit(chunks):
        return (2 * (chunks - ours.low) / (ours.high - ours.low) - 1).double().numpy()

    reference = UniversalActionProcessor.fit(
        list(unit(FIT_CHUNKS)), scale=ours.scale, vocab_size=1024, time_horizon=FPS, action_dim=ours.action_dim
    )
    return reference, unit


def test_same_coefficients_and_reconstructions_as_the_reference_with_fewer_tokens():
    ours = FastTokenizer.fit(FIT_CHUNKS, vocab_size=1024)
    reference, unit = _reference(ours)
    tokens = ours.encode(CHUNKS)
    reference_tokens = reference(unit(CHUNKS))
    reference_chunks = torch.from_numpy(reference.decode(reference_tokens)).float()
    decoded = ours.decode(tokens)
    assert not decoded.repaired.any()
    torch.testing.assert_close(decoded.actions, (reference_chunks + 1) / 2 * (ours.high - ours.low) + ours.low)
    # The reference's byte-level BPE splits the coefficient string where its text pre-tokenizer sees word
    # boundaries and spends two bytes on characters past 127; ours merges the coefficient string freely.
    reference_lengths = np.array([len(row) for row in reference_tokens])
    assert tokens.lengths.float().mean() <= reference_lengths.mean()


def _random_head(vocab: int, seed: int):
    generator = torch.Generator().manual_seed(seed)

    def next_logits(previous):
        return torch.randn(16, vocab, generator=generator)

    return next_logits


def test_exact_length_decoding_always_gives_a_well_formed_chunk():
    fast = FastTokenizer.fit(FIT_CHUNKS, vocab_size=300)
    layout = ActionTokenLayout(fast.vocab_size, 2 * fast.longest_fit_sequence, variable=True)
    rule = exact_length_rule(fast, layout)
    assert rule.total == FPS * fast.action_dim
    free = decode_autoregressively(_random_head(layout.head_vocab_size, 0), layout.positions, stop_token=rule.end_token)
    ruled = decode_autoregressively(
        _random_head(layout.head_vocab_size, 0), layout.positions, stop_token=rule.end_token, rule=rule
    )
    assert fast.decode(layout.sequences(free)).repaired.all()  # an untrained head never hits the length
    decoded = fast.decode(layout.sequences(ruled))
    assert not decoded.repaired.any() and torch.isfinite(decoded.actions).all()


def test_exact_length_rule_leaves_well_formed_sequences_alone():
    fast = FastTokenizer.fit(FIT_CHUNKS, vocab_size=300)
    layout = ActionTokenLayout(fast.vocab_size, 2 * fast.longest_fit_sequence, variable=True)
    rule = exact_length_rule(fast, layout)
    inputs, _ = layout.targets(fast.encode(CHUNKS[:16]))
    script = iter(inputs.T)  # a head that always wants the true next id
    first = next(script)

    def next_logits(previous):
        return torch.nn.functional.one_hot(first if previous is None else next(script), layout.head_vocab_size).float()

    ids = decode_autoregressively(next_logits, layout.positions, stop_token=rule.end_token, rule=rule)
    assert torch.equal(ids, inputs)


def test_no_rule_for_fixed_budgets():
    from lerobot_actioncodec.tokenizers.binning import BinningTokenizer

    binning = BinningTokenizer.fit(FIT_CHUNKS, bins=16)
    assert exact_length_rule(binning, ActionTokenLayout(16, 40, variable=False)) is None
