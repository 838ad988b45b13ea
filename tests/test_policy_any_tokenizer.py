"""The `actioncodec` policy on every tokenizer of the package (`--policy.tokenizer_path` picks it), the token
layout that makes variable budgets (FAST) trainable, and early stopping at the end token."""

import json

import pytest
import torch
import torch.nn.functional as F

from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.decoding import decode_autoregressively
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy
from lerobot_actioncodec.tokenizers.binning import BinningTokenizer
from lerobot_actioncodec.tokenizers.fast import FastTokenizer
from lerobot_actioncodec.tokenizers.interface import TokenSequences
from lerobot_actioncodec.tokenizers.layout import IGNORE_INDEX, ActionTokenLayout, trim_untrained
from lerobot_actioncodec.tokenizers.vqvla import VQVLATokenizer

from .helpers import ACTION_DIM, FPS, POLICY_FEATURES, policy_batch, smooth_actions, train_steps

FIT_CHUNKS = smooth_actions(200, FPS, seed=3)
SMALL = dict(backbone="compact", image_size=16, hidden_size=32, num_layers=1, num_heads=2, ff_mult=2, dropout=0.0)
FITS = {
    "binning": lambda: BinningTokenizer.fit(FIT_CHUNKS, bins=32),
    "fast": lambda: FastTokenizer.fit(FIT_CHUNKS, vocab_size=300),
    "vqvla": lambda: VQVLATokenizer.fit(FIT_CHUNKS, steps=20, channels=16, latent_dim=16, levels=2, codebook_size=32),
}


@pytest.fixture(scope="module", params=sorted(FITS))
def saved_tokenizer(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param)
    FITS[request.param]().save_pretrained(path)
    return request.param, path


def make_policy(path, **overrides) -> ActionCodecPolicy:
    torch.manual_seed(0)
    config = ActionCodecConfig(tokenizer_path=str(path), device="cpu", **{**POLICY_FEATURES, **SMALL, **overrides})
    return ActionCodecPolicy(config)


def test_layout_of_a_fixed_budget_is_the_tokens_themselves():
    layout = ActionTokenLayout.from_info({"kind": "binning", "vocab_size": 8, "fixed_length": 3})
    assert (layout.head_vocab_size, layout.positions, layout.end_token) == (8, 3, None)
    inputs, targets = layout.targets(TokenSequences.fixed(torch.tensor([[1, 2, 3]])))
    assert torch.equal(inputs, torch.tensor([[1, 2, 3]])) and torch.equal(targets, inputs)
    assert layout.sequences(torch.tensor([[7, 0, 5]])).to_lists() == [[7, 0, 5]]


def test_layout_of_a_variable_budget_ends_with_the_end_token_and_ignores_padding():
    layout = ActionTokenLayout.from_info({"kind": "fast", "vocab_size": 8, "fixed_length": None}, max_tokens=3)
    assert (layout.head_vocab_size, layout.positions, layout.end_token) == (9, 4, 8)
    inputs, targets = layout.targets(TokenSequences.from_lists([[5], [1, 2, 3]]))
    assert inputs.tolist() == [[5, 8, 8, 8], [1, 2, 3, 8]]
    assert targets.tolist() == [[5, 8, IGNORE_INDEX, IGNORE_INDEX], [1, 2, 3, 8]]
    cut = layout.sequences(torch.tensor([[5, 8, 8, 8], [1, 2, 3, 4], [8, 1, 1, 1]]))
    assert cut.to_lists() == [[5], [1, 2, 3, 4], []]  # the second never ended: all 4 positions, repaired later
    with pytest.raises(ValueError, match="encoded into 4 tokens but max_action_tokens=3"):
        layout.targets(TokenSequences.from_lists([[1, 2, 3, 4]]))


def test_teacher_forcing_is_cut_after_the_batchs_last_trained_position():
    layout = ActionTokenLayout.from_info({"kind": "fast", "vocab_size": 8, "fixed_length": None}, max_tokens=6)
    inputs, targets = trim_untrained(*layout.targets(TokenSequences.from_lists([[5], [1, 2, 3]])))
    assert inputs.tolist() == [[5, 8, 8, 8], [1, 2, 3, 8]]  # 4 of 7: the longest and its end
    assert targets.tolist() == [[5, 8, IGNORE_INDEX, IGNORE_INDEX], [1, 2, 3, 8]]
    fixed = ActionTokenLayout.from_info({"kind": "binning", "vocab_size": 8, "fixed_length": 3})
    grid = fixed.targets(TokenSequences.fixed(torch.tensor([[1, 2, 3]])))
    assert all(torch.equal(kept, whole) for kept, whole in zip(trim_untrained(*grid), grid, strict=True))


def test_layout_budget_defaults_to_twice_the_longest_fitted_sequence_else_asks_for_it():
    info = {"kind": "fast", "vocab_size": 8, "fixed_length": None, "longest_fit_sequence": 5}
    assert ActionTokenLayout.from_info(info).max_tokens == 10
    with pytest.raises(ValueError, match="pass --policy.max_action_tokens"):
        ActionTokenLayout.from_info({**info, "longest_fit_sequence": None})
    with pytest.raises(ValueError, match="max_action_tokens=0: expected >= 1"):
        ActionTokenLayout.from_info(info, max_tokens=0)


def test_decoding_stops_once_every_row_has_chosen_the_stop_token():
    calls = []
    script = [torch.tensor([[0.0, 9, 0], [9, 0, 0]]), torch.tensor([[9.0, 0, 0], [0, 9, 0]]),
              torch.tensor([[0.0, 0, 9], [0, 0, 9]])]  # fmt: skip

    def next_logits(previous):
        calls.append(previous)
        return script[len(calls) - 1]

    ids = decode_autoregressively(next_logits, num_tokens=5, stop_token=2)
    # row 0 picks 1, 0, then stops; row 1 picks 0, 1, then stops; after that no further forward pass
    assert ids.tolist() == [[1, 0, 2, 2, 2], [0, 1, 2, 2, 2]] and len(calls) == 3


def test_policy_trains_and_acts_on_every_tokenizer_kind(saved_tokenizer):
    kind, path = saved_tokenizer
    policy = make_policy(path)
    tokenizer = policy.tokenizer
    assert policy.config.tokenizer_info["kind"] == kind == tokenizer.kind
    layout = policy.layout
    assert layout.variable == (kind == "fast") and layout.head_vocab_size == tokenizer.vocab_size + layout.variable
    batch = policy_batch(4)
    loss, logs = policy.forward(batch)
    assert torch.isfinite(loss) and 0 <= logs["token_accuracy"] <= 1
    inputs, targets = policy.target_tokens(batch["action"])  # every position: forward's cut changes no loss
    logits = policy.backbone(policy._prefix(batch), inputs)
    expected = F.cross_entropy(logits.reshape(-1, layout.head_vocab_size), targets.reshape(-1), ignore_index=-100)
    assert torch.allclose(loss, expected)
    if layout.variable:  # forward trained fewer positions than the budget
        assert trim_untrained(inputs, targets)[0].shape[1] < layout.positions
    policy.eval()
    ids = policy.predict_tokens(batch)
    assert ids.shape == (4, layout.positions) and int(ids.max()) < layout.head_vocab_size
    chunk = policy.predict_action_chunk(batch)
    assert chunk.shape == (4, FPS, ACTION_DIM) and torch.isfinite(chunk).all()


def test_a_policy_learns_its_tokenizers_targets_so_greedy_decoding_reproduces_them(saved_tokenizer):
    """A few hundred steps on one batch: teacher-forced argmax, then free decoding, give the encoded chunk back."""
    kind, path = saved_tokenizer
    policy = make_policy(path)
    batch = policy_batch(2)
    train_steps(policy, 150, batch)
    policy.eval()
    expected = policy.tokenizer.encode(batch["action"]).to_lists()
    assert policy.layout.sequences(policy.predict_tokens(batch)).to_lists() == expected
    decoded = policy.tokenizer.decode(policy.tokenizer.encode(batch["action"])).actions
    assert torch.allclose(policy.predict_action_chunk(batch), decoded, atol=1e-5)
    assert (policy.invalid_chunks, policy.repaired_chunks) == (0, 0)


def test_checkpoint_carries_any_tokenizer(saved_tokenizer, tmp_path):
    kind, path = saved_tokenizer
    policy = make_policy(path).eval()
    policy.save_pretrained(tmp_path / "policy")
    assert (tmp_path / "policy" / "action_tokenizer" / "action_tokenizer.json").is_file()
    config = ActionCodecPolicy.config_class.from_pretrained(tmp_path / "policy")
    config.tokenizer_path = str(tmp_path / "gone")  # the original directory is not needed any more
    loaded = ActionCodecPolicy.from_pretrained(tmp_path / "policy", config=config).eval()
    batch = policy_batch(3)
    assert loaded.tokenizer.kind == kind
    assert torch.equal(loaded.predict_action_chunk(batch), policy.predict_action_chunk(batch))


def test_embodiment_is_only_for_actioncodec_tokenizers(saved_tokenizer):
    kind, path = saved_tokenizer
    with pytest.raises(InvalidConfigError, match=f"only actioncodec tokenizers have embodiments, .* {kind} tokenizer"):
        make_policy(path, embodiment="so100")


def test_a_tokenizer_whose_facts_changed_since_the_config_is_refused(saved_tokenizer, tmp_path):
    kind, path = saved_tokenizer
    config = ActionCodecConfig(tokenizer_path=str(path), device="cpu", **{**POLICY_FEATURES, **SMALL})
    other = tmp_path / "other"
    BinningTokenizer.fit(FIT_CHUNKS, bins=7).save_pretrained(other)
    config.tokenizer_path = str(other)
    with pytest.raises(ValueError, match="but the policy config expects"):
        ActionCodecPolicy(config)


def _untrained_decoding(path, flag: str) -> dict[bool, tuple[int, torch.Tensor]]:
    """{rule on?: (repaired rows of 8, the head's ids)} of an untrained policy, with `flag` off and on."""
    batch = policy_batch(8)
    results = {}
    for ruled in (False, True):
        policy = make_policy(path, **{flag: ruled}).eval()
        ids = policy.predict_tokens(batch)
        assert torch.isfinite(policy.decode_tokens(ids)).all()
        results[ruled] = (policy.repaired_chunks, ids)
    return results


def test_an_untrained_fast_policy_decodes_well_formed_chunks_with_exact_length_decoding(tmp_path):
    """Free decoding of an untrained head misses FAST's exact T x D coefficients on every row; exact-length
    decoding (the default) never does, and each chunk still comes from the head's own choices."""
    FITS["fast"]().save_pretrained(tmp_path)
    results = _untrained_decoding(tmp_path, "exact_length_decoding")
    assert {ruled: repaired for ruled, (repaired, _) in results.items()} == {False: 8, True: 0}


def test_an_untrained_vqvla_policy_chooses_each_positions_level_ids_with_level_range_decoding(tmp_path):
    """VQ-VLA's levels own different ids (level i: i x codebook_size ...); an untrained head decoding freely picks
    another level's id somewhere in most rows, which then run as no motion. Level-range decoding (the default)
    allows only each position's level, so no row needs repair."""
    FITS["vqvla"]().save_pretrained(tmp_path)
    results = _untrained_decoding(tmp_path, "level_range_decoding")
    (free, _), (ruled, ids) = results[False], results[True]
    assert free > 0 and ruled == 0
    levels = torch.arange(ids.shape[1]) // (ids.shape[1] // 2)  # two levels of equal length, 32 codes each
    assert torch.equal(ids // 32, levels.expand_as(ids))


def test_level_range_decoding_applies_only_where_levels_own_different_ids(saved_tokenizer):
    kind, path = saved_tokenizer
    rule = make_policy(path).decoding_rule
    assert type(rule).__name__ == {"binning": "NoneType", "fast": "ExactLength", "vqvla": "LevelRanges"}[kind]
    assert make_policy(path, level_range_decoding=False, exact_length_decoding=False).decoding_rule is None


def test_rollout_log_records_every_chunk_boundary_of_select_action(tmp_path):
    FITS["binning"]().save_pretrained(tmp_path / "binning")
    log = tmp_path / "eval" / "rollout_log.jsonl"
    policy = make_policy(tmp_path / "binning", n_action_steps=4, rollout_log=str(log)).eval()
    batch = policy_batch(2)
    executed = [policy.select_action(batch) for _ in range(8)]  # two chunks of 4 steps
    policy.reset()
    policy.select_action(batch)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["episode"], r["rows"]) for r in records] == [(0, 2), (0, 2), (1, 2)]
    assert records[0]["jump"] is None and records[2]["jump"] is None  # an episode's first chunk
    expected = (executed[4] - executed[3]).abs().amax(-1)
    assert records[1]["jump"] == pytest.approx(expected.tolist())
