"""The parallel-decoding (`actioncodec_pd`) and block-wise autoregressive (`actioncodec_bar`) heads: the action
expert's masks, shapes, one-pass decoding, block causality, learning, save/load and bad input, on both backbones."""

import functools
import shutil

import pytest
import torch

from lerobot_actioncodec.backbones.action_expert import ActionExpert, block_causal_mask, expert_attention_mask
from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.policies.actioncodec_bar.configuration_actioncodec_bar import ActionCodecBARConfig
from lerobot_actioncodec.policies.actioncodec_bar.modeling_actioncodec_bar import ActionCodecBARPolicy
from lerobot_actioncodec.policies.actioncodec_pd.configuration_actioncodec_pd import ActionCodecPDConfig
from lerobot_actioncodec.policies.actioncodec_pd.modeling_actioncodec_pd import ActionCodecPDPolicy
from lerobot_actioncodec.tokenizers.fast import FastTokenizer
from lerobot_actioncodec.tokenizers.registry import load_action_tokenizer

from .helpers import ACTION_DIM, COMPACT_HEAD, FPS, POLICY_FEATURES, TINY_VLM, policy_batch, smooth_actions, train_steps

SMALL = COMPACT_HEAD
BACKBONES = pytest.mark.parametrize("backbone", [{}, TINY_VLM], ids=["compact", "smolvlm"])
LEVELS, TOKENS, CODES = 3, 4, 64  # the rvq_tokenizer_dir fixture


def make_head(policy_class: type[ActionCodecPDPolicy], path, **overrides) -> ActionCodecPDPolicy:
    torch.manual_seed(0)
    config = policy_class.config_class(tokenizer_path=str(path), **{**POLICY_FEATURES, **SMALL, **overrides})
    return policy_class(config)


make_pd = functools.partial(make_head, ActionCodecPDPolicy)
make_bar = functools.partial(make_head, ActionCodecBARPolicy)


# ------------------------------------------------------------------------------------------------ masks
def test_block_causal_mask_on_a_hand_computed_example():
    expected = torch.tensor(
        [
            [1, 1, 0, 0, 0],  # block 0 (2 tokens) sees itself
            [1, 1, 0, 0, 0],
            [1, 1, 1, 0, 0],  # block 1 (1 token) sees block 0 and itself
            [1, 1, 1, 1, 1],  # block 2 (2 tokens) sees everything, both ways inside the block
            [1, 1, 1, 1, 1],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(block_causal_mask([2, 1, 2]), expected)
    assert block_causal_mask([4]).all()  # one block: bidirectional, parallel decoding


def test_expert_mask_hides_prefix_padding_and_nothing_already_cached():
    prefix = torch.tensor([[False, True, True], [True, True, True]])  # row 0 is left-padded
    mask = expert_attention_mask(prefix, earlier=2, own=block_causal_mask([1, 1]), dtype=torch.float32)
    assert mask.shape == (2, 1, 2, 3 + 2 + 2)
    blocked = torch.finfo(torch.float32).min
    row0 = torch.tensor([[blocked, 0, 0, 0, 0, 0, blocked], [blocked, 0, 0, 0, 0, 0, 0]])
    assert torch.equal(mask[0, 0], row0)
    assert torch.equal(mask[1, 0], row0.clone().index_fill_(1, torch.tensor([0]), 0.0))


# ------------------------------------------------------------------------------------------------ PD
@BACKBONES
def test_pd_predicts_every_token_in_one_expert_pass(tokenizer_dir, backbone, monkeypatch):
    policy = make_pd(tokenizer_dir, **backbone).eval()
    assert policy.expert.blocks == 1 and policy.expert.code_embedding is None
    assert not hasattr(policy.backbone, "head") and getattr(policy.backbone, "first_action_id", None) is None
    batch = policy_batch(3)
    inputs, targets = policy.target_codes(batch["action"])
    logits = policy.expert(policy.backbone.encode_prefix(policy._prefix(batch)), inputs)
    assert logits.shape == (3, 1, TOKENS, CODES)
    runs = []
    original = policy.expert.run
    monkeypatch.setattr(policy.expert, "run", lambda *a: runs.append(1) or original(*a))
    tokens = policy.predict_tokens(batch)
    assert len(runs) == 1  # n tokens from one forward pass, where the autoregressive head needs n
    assert torch.equal(tokens, logits[:, 0].argmax(-1)) and tokens.shape == (3, TOKENS)
    chunk = policy.predict_action_chunk(batch)
    assert chunk.shape == (3, FPS, ACTION_DIM) and torch.isfinite(chunk).all() and policy.invalid_chunks == 0


def test_pd_attention_is_bidirectional_among_the_queries(tokenizer_dir):
    policy = make_pd(tokenizer_dir).eval()
    batch = policy_batch(2)
    codes = torch.zeros(2, 1, TOKENS, dtype=torch.long)
    before = policy.expert(policy.backbone.encode_prefix(policy._prefix(batch)), codes)
    with torch.no_grad():
        policy.expert.queries[-1] += 1.0  # the last query changes every position's logits, the first ones too
    after = policy.expert(policy.backbone.encode_prefix(policy._prefix(batch)), codes)
    assert not torch.allclose(before[:, 0, 0], after[:, 0, 0])


@pytest.mark.parametrize("temperature", [0.0, 1.5])
def test_pd_samples_valid_ids_with_a_temperature(tokenizer_dir, temperature):
    policy = make_pd(tokenizer_dir, temperature=temperature, top_k=5).eval()
    tokens = policy.predict_tokens(policy_batch(6))
    assert tokens.shape == (6, TOKENS) and 0 <= int(tokens.min()) and int(tokens.max()) < CODES


def test_the_expert_loss_trains_the_backbone_through_its_kv_cache(tokenizer_dir):
    policy = make_pd(tokenizer_dir)
    loss, logs = policy.forward(policy_batch(4))
    loss.backward()
    image_encoder = next(policy.backbone.images.parameters())
    assert image_encoder.grad is not None and image_encoder.grad.abs().sum() > 0
    assert policy.expert.queries.grad.abs().sum() > 0 and 0 <= logs["token_accuracy"] <= 1
    assert {id(p) for p in policy.get_optim_params()} >= {id(image_encoder), id(policy.expert.queries)}


def test_pd_on_a_variable_budget_tokenizer_learns_its_sequences_and_the_end_token(tmp_path):
    path = tmp_path / "fast"
    FastTokenizer.fit(smooth_actions(200, FPS, seed=3), vocab_size=300).save_pretrained(path)
    policy = make_pd(path)
    layout = policy.layout
    assert policy.expert.block_length == layout.positions and policy.expert.vocab_size == layout.head_vocab_size
    batch = policy_batch(2)
    train_steps(policy, 150, batch)
    policy.eval()
    expected = policy.tokenizer.encode(batch["action"])
    assert layout.sequences(policy.predict_tokens(batch)).to_lists() == expected.to_lists()
    decoded = policy.tokenizer.decode(expected).actions
    assert torch.allclose(policy.predict_action_chunk(batch), decoded, atol=1e-5)
    assert (policy.invalid_chunks, policy.repaired_chunks) == (0, 0)


# ------------------------------------------------------------------------------------------------ BAR
def test_bar_reads_every_rvq_level_of_the_tokenizer(rvq_tokenizer_dir):
    config = ActionCodecBARConfig(tokenizer_path=str(rvq_tokenizer_dir), **POLICY_FEATURES, **SMALL)
    assert config.tokenizer_info["token_levels"] == [[TOKENS, 0, CODES]] * LEVELS
    assert config.passes == LEVELS and config.layout.positions == LEVELS * TOKENS
    # the autoregressive and PD heads read the same checkpoint's VQ form, as in the paper
    assert ActionCodecPDConfig(tokenizer_path=str(rvq_tokenizer_dir), **POLICY_FEATURES).layout.positions == TOKENS


@BACKBONES
def test_bar_blocks_see_only_earlier_levels(rvq_tokenizer_dir, backbone):
    policy = make_bar(rvq_tokenizer_dir, **backbone).eval()
    batch = policy_batch(2)
    inputs, targets = policy.target_codes(batch["action"])
    assert inputs.shape == (2, LEVELS, TOKENS) and torch.equal(inputs, targets)
    encoded = policy.tokenizer.encode(batch["action"]).ids
    assert torch.equal(inputs.flatten(1), encoded)  # level-major, codes = ids (ActionCodec's levels share 0..S-1)

    def logits(codes):
        return policy.expert(policy.backbone.encode_prefix(policy._prefix(batch)), codes)

    reference = logits(inputs)
    assert reference.shape == (2, LEVELS, TOKENS, CODES)
    changed = inputs.clone()
    changed[:, 1, 2] = (changed[:, 1, 2] + 1) % CODES  # a level-1 code feeds block 2 only
    again = logits(changed)
    assert torch.equal(again[:, :2], reference[:, :2]) and not torch.allclose(again[:, 2], reference[:, 2])
    changed[:, 2] = (changed[:, 2] + 1) % CODES  # the last level is never an input
    assert torch.equal(logits(changed), again)


@BACKBONES
def test_bar_passes_with_the_cache_match_teacher_forcing_and_one_pass_is_pd(rvq_tokenizer_dir, backbone):
    policy = make_bar(rvq_tokenizer_dir, **backbone).eval()
    batch = policy_batch(3)
    codes = policy.predict_codes(batch, LEVELS)
    teacher_forced = policy.expert(policy.backbone.encode_prefix(policy._prefix(batch)), codes)
    assert torch.equal(teacher_forced.argmax(-1), codes)
    one_pass = policy.predict_codes(batch, 1)
    assert torch.equal(one_pass[:, 0], codes[:, 0])  # level 0 is parallel decoding, whatever follows
    assert policy.predict_tokens(batch).shape == (3, LEVELS, TOKENS)


@BACKBONES
def test_one_observed_context_decodes_again_and_in_repeated_rows(rvq_tokenizer_dir, backbone):
    """RTC's candidates share one prefix pass: decoding leaves the context's cache holding the prefix alone, and a
    context with repeated rows decodes each copy as its original row."""
    policy = make_bar(rvq_tokenizer_dir, **backbone).eval()
    batch = policy_batch(2)
    context = policy.observe(batch)
    first = policy.tokens_from(context)
    assert context.cache.get_seq_length() == context.length
    assert torch.equal(policy.tokens_from(context), first) and torch.equal(policy.predict_tokens(batch), first)
    repeated = context.repeat_rows(3)
    assert torch.equal(policy.tokens_from(repeated), first.repeat_interleave(3, 0))
    assert context.cache.get_seq_length() == context.length and context.mask.shape[0] == 2  # the original is kept


def test_bar_refinement_passes_decode_from_the_levels_predicted(rvq_tokenizer_dir):
    full = make_bar(rvq_tokenizer_dir).eval()
    coarse = make_bar(rvq_tokenizer_dir, refinement_passes=1).eval()
    batch = policy_batch(2)
    ids = full.predict_tokens(batch)
    assert torch.equal(coarse.predict_tokens(batch), ids[:, :1])
    tokenizer = full.tokenizer
    assert torch.allclose(full.predict_action_chunk(batch), tokenizer.decode_levels(list(ids.unbind(1))).actions)
    coarse_chunk = coarse.predict_action_chunk(batch)
    assert torch.allclose(coarse_chunk, tokenizer.decode_levels([ids[:, 0]]).actions)
    assert not torch.allclose(coarse_chunk, full.predict_action_chunk(batch))


def test_bar_learns_every_level_of_its_targets(rvq_tokenizer_dir):
    policy = make_bar(rvq_tokenizer_dir)
    batch = policy_batch(2)
    logs = train_steps(policy, 120, batch)
    assert logs[0]["token_accuracy_level_2"] < 1.0
    assert [logs[-1][f"token_accuracy_level_{level}"] for level in range(LEVELS)] == [1.0] * LEVELS
    assert logs[-1]["token_accuracy"] == 1.0
    policy.eval()
    encoded = policy.tokenizer.encode(batch["action"])
    assert torch.equal(policy.predict_tokens(batch).flatten(1), encoded.ids)
    assert torch.allclose(policy.predict_action_chunk(batch), policy.tokenizer.decode(encoded).actions, atol=1e-5)


def test_bar_loss_weights_each_levels_cross_entropy(rvq_tokenizer_dir):
    batch = policy_batch(2)
    equal = make_bar(rvq_tokenizer_dir)
    inputs, targets = equal.target_codes(batch["action"])
    logits = equal.expert(equal.observe(batch), inputs)
    loss, logs = equal.expert_loss(logits, targets)
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits.flatten(0, 2), targets.flatten()))
    per_level = [logs[f"loss_level_{level}"] for level in range(LEVELS)]
    assert loss.item() == pytest.approx(sum(per_level) / LEVELS)

    weighted = make_bar(rvq_tokenizer_dir, level_loss_weights=[2.0, 1.0, 1.0])
    assert weighted.level_loss_weights.tolist() == [0.5, 0.25, 0.25]
    loss, logs = weighted.expert_loss(logits, targets)
    assert loss.item() == pytest.approx(0.5 * per_level[0] + 0.25 * (per_level[1] + per_level[2]))

    only_level_0 = make_bar(rvq_tokenizer_dir, level_loss_weights=[1.0, 0.0, 0.0])
    logits = logits.detach().requires_grad_()
    only_level_0.expert_loss(logits, targets)[0].backward()
    assert logits.grad[:, 0].abs().sum() > 0 and not logits.grad[:, 1:].any()  # finer levels are not trained


def test_bar_level_loss_weights_parse_from_the_command_line(rvq_tokenizer_dir):
    import draccus

    args = [f"--tokenizer_path={rvq_tokenizer_dir}", "--level_loss_weights=[1,0.25,0.25]"]
    config = draccus.parse(ActionCodecBARConfig, args=args)
    assert config.level_loss_weights == [1.0, 0.25, 0.25]
    assert config.normalized_level_loss_weights == pytest.approx([2 / 3, 1 / 6, 1 / 6])


def test_bar_on_vqvla_offsets_each_levels_ids(tmp_path):
    from lerobot_actioncodec.tokenizers.vqvla import VQVLATokenizer

    path = tmp_path / "vqvla"
    fitted = VQVLATokenizer.fit(smooth_actions(100, FPS, seed=3), steps=5, channels=16, latent_dim=16, levels=2,
                                codebook_size=32)  # fmt: skip
    fitted.save_pretrained(path)
    policy = make_bar(path).eval()
    assert policy.expert.vocab_size == 32 and policy.level_first_ids.flatten().tolist() == [0, 32]
    batch = policy_batch(2)
    inputs, _ = policy.target_codes(batch["action"])
    assert 0 <= int(inputs.min()) and int(inputs.max()) < 32
    ids = policy.predict_tokens(batch)
    assert int(ids[:, 1].min()) >= 32 and policy.tokenizer.decode_levels(list(ids.unbind(1))).actions.shape[1] == FPS


# ------------------------------------------------------------------------------------------------ save/load
@pytest.mark.parametrize(
    ("make", "tokenizer"),
    [(make_pd, "tokenizer_dir"), (make_bar, "rvq_tokenizer_dir")],
    ids=["pd", "bar"],
)
@BACKBONES
def test_save_load_round_trip_without_the_tokenizer_dir(make, tokenizer, backbone, tmp_path, request):
    moved = tmp_path / "tok"
    shutil.copytree(request.getfixturevalue(tokenizer), moved)
    policy = make(moved, **backbone).eval()
    policy.save_pretrained(tmp_path / "policy")
    shutil.rmtree(moved)
    loaded = type(policy).from_pretrained(tmp_path / "policy").eval()
    assert loaded.config.type == policy.name and loaded.tokenizer.fixed_length == policy.tokenizer.fixed_length
    batch = policy_batch(2)
    assert torch.equal(loaded.predict_action_chunk(batch), policy.predict_action_chunk(batch))


def test_refinement_passes_can_change_at_load_time(rvq_tokenizer_dir, tmp_path):
    make_bar(rvq_tokenizer_dir).save_pretrained(tmp_path / "policy")
    config = ActionCodecBARConfig.from_pretrained(tmp_path / "policy")
    config.refinement_passes = 2
    loaded = ActionCodecBARPolicy.from_pretrained(tmp_path / "policy", config=config).eval()
    assert loaded.predict_tokens(policy_batch(1)).shape == (1, 2, TOKENS)


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"expert_hidden_size": 0}, "expert_hidden_size=0: expected > 0"),
        ({"expert_ff_mult": 0}, "expert_ff_mult=0: expected > 0"),
        ({"refinement_passes": 4}, r"refinement_passes=4: expected 1..3 \(the tokenizer's levels\)"),
        ({"refinement_passes": 0}, r"refinement_passes=0: expected 1..3"),
        ({"level_loss_weights": [1.0, 0.5]}, r"level_loss_weights=\[1.0, 0.5\]: expected 3 finite weights >= 0"),
        ({"level_loss_weights": [1.0, -0.5, 0.5]}, "level_loss_weights=.*: expected 3 finite weights >= 0"),
        ({"level_loss_weights": [0.0, 0.0, 0.0]}, "level_loss_weights=.*not all 0"),
        ({"level_loss_weights": [1.0, float("nan"), 0.5]}, "level_loss_weights=.*: expected 3 finite weights"),
    ],
)
def test_bad_expert_settings(rvq_tokenizer_dir, overrides, match):
    with pytest.raises(InvalidConfigError, match=match):
        make_bar(rvq_tokenizer_dir, **overrides)


def test_bar_refuses_a_tokenizer_that_is_not_residual(tokenizer_dir, tmp_path):
    with pytest.raises(InvalidConfigError, match="has 1 level: block-wise autoregression needs a residual tokenizer"):
        make_bar(tokenizer_dir)
    FastTokenizer.fit(smooth_actions(50, FPS, seed=3), vocab_size=300).save_pretrained(tmp_path / "fast")
    with pytest.raises(InvalidConfigError, match="fast tokenizer has no levels"):
        make_bar(tmp_path / "fast")
    info = {"kind": "nac", "chunk_length": FPS, "action_dim": ACTION_DIM, "vocab_size": 64, "fixed_length": 12,
            "token_levels": [[4, 0, 32], [8, 32, 32]]}  # fmt: skip
    with pytest.raises(InvalidConfigError, match=r"levels have \(length, codes\) \[\(4, 32\), \(8, 32\)\]"):
        ActionCodecBARConfig(tokenizer_info=info, **POLICY_FEATURES)


def test_expert_and_level_decoding_refuse_bad_shapes(rvq_tokenizer_dir):
    policy = make_bar(rvq_tokenizer_dir).eval()
    context = policy.backbone.encode_prefix(policy._prefix(policy_batch(1)))
    with pytest.raises(ValueError, match=r"codes shape=\(1, 2, 4\): expected \[B, 3, 4\]"):
        policy.expert(context, torch.zeros(1, 2, TOKENS, dtype=torch.long))
    with pytest.raises(ValueError, match="passes=4: expected 1..3"):
        policy.expert.generate(context, 4)
    tokenizer = load_action_tokenizer(rvq_tokenizer_dir, all_levels=True)
    with pytest.raises(ValueError, match=r"ids\[1\] range \[64, 64\]: expected ids in \[0, 63\]"):
        tokenizer.decode_levels([torch.zeros(1, TOKENS, dtype=torch.long), torch.full((1, TOKENS), 64)])
    with pytest.raises(ValueError, match="4 levels given; expected 1..3"):
        tokenizer.decode_levels([torch.zeros(1, TOKENS, dtype=torch.long)] * 4)


def test_expert_reads_the_backbones_attention_geometry():
    from transformers import LlamaConfig

    language = LlamaConfig(hidden_size=48, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=3)
    expert = ActionExpert(language, block_length=2, blocks=2, vocab_size=8, hidden_size=20, ff_mult=2)
    config = expert.transformer.config
    assert (config.num_hidden_layers, config.num_attention_heads, config.num_key_value_heads) == (3, 4, 2)
    assert (config.head_dim, config.hidden_size, config.intermediate_size) == (12, 20, 40)
