"""Every tokenizer behind the ActionTokenizer interface: round trip, save/load, repair of malformed input,
bad input. One parametrised suite, so a new tokenizer joins by adding a factory."""

import functools

import pytest
import torch

from lerobot_actioncodec.tokenizers.binning import BinningTokenizer
from lerobot_actioncodec.tokenizers.fast import FastTokenizer
from lerobot_actioncodec.tokenizers.interface import (
    ActionTokenizer,
    ResidualActionTokenizer,
    TokenLevel,
    TokenSequences,
)
from lerobot_actioncodec.tokenizers.nac import NACTokenizer
from lerobot_actioncodec.tokenizers.registry import (
    ActionCodecActionTokenizer,
    describe_tokenizer,
    load_action_tokenizer,
)
from lerobot_actioncodec.tokenizers.vqvla import VQVLATokenizer

from .helpers import ACTION_DIM, FPS, smooth_actions, tiny_policy

FIT_CHUNKS = smooth_actions(200, FPS, seed=3)


def untrained_actioncodec(tmp_path):
    tiny_policy().save_pretrained(tmp_path / "actioncodec_checkpoint")
    return ActionCodecActionTokenizer.from_checkpoint(tmp_path / "actioncodec_checkpoint")


@functools.cache
def fitted_vqvla():
    small = dict(channels=16, latent_dim=16, levels=2, codebook_size=64)
    return VQVLATokenizer.fit(FIT_CHUNKS, steps=200, batch_size=64, **small)


@functools.cache
def fitted_nac():
    small = dict(channels=8, ratios=(2, 2), latent_dim=16, codebook_size=32, decoder_dim=32, convnext_layers=1)
    return NACTokenizer.fit(FIT_CHUNKS, steps=150, batch_size=64, lr=2e-3, commitment_weight=1.0, **small)


FACTORIES = {
    "binning": (lambda tmp_path: BinningTokenizer.fit(FIT_CHUNKS, bins=256), BinningTokenizer),
    "fast": (lambda tmp_path: FastTokenizer.fit(FIT_CHUNKS, vocab_size=300), FastTokenizer),
    "vqvla": (lambda tmp_path: fitted_vqvla(), VQVLATokenizer),
    "nac": (lambda tmp_path: fitted_nac(), NACTokenizer),
    "actioncodec": (untrained_actioncodec, ActionCodecActionTokenizer),
}
# Mean absolute reconstruction error allowed relative to the actions' spread, on chunks like the fit data.
# The learned tokenizers here are untrained (their quality is tested where they are trained), so only the
# fitted ones are held to a number.
# VQ-VLA is trained 200 steps here, which is enough to beat predicting the mean (error ~0.6-0.8) by far.
# NAC likewise, 150 steps at a tiny size.
TOLERANCE = {"binning": 0.02, "fast": 0.05, "vqvla": 0.3, "nac": 0.4, "actioncodec": None}


@pytest.fixture(params=sorted(FACTORIES))
def kind(request):
    return request.param


@pytest.fixture
def tokenizer(kind, tmp_path):
    return FACTORIES[kind][0](tmp_path)


def test_round_trip_shapes_and_error(tokenizer, kind):
    assert isinstance(tokenizer, ActionTokenizer) and tokenizer.kind == kind
    actions = smooth_actions(6, FPS, seed=4)
    tokens = tokenizer.encode(actions)
    assert tokens.ids.shape[0] == 6 and tokens.ids.dtype == torch.long
    assert int(tokens.ids[tokens.ids >= 0].max()) < tokenizer.vocab_size
    if tokenizer.fixed_length is not None:
        assert tokens.lengths.tolist() == [tokenizer.fixed_length] * 6
    decoded = tokenizer.decode(tokens)
    assert decoded.actions.shape == (6, FPS, ACTION_DIM) and not decoded.repaired.any()
    if TOLERANCE[kind] is not None:
        assert (decoded.actions - actions).abs().mean() / actions.std() < TOLERANCE[kind]


def test_save_load_gives_the_same_tokens_and_actions(tokenizer, kind, tmp_path):
    actions = smooth_actions(4, FPS, seed=5)
    tokenizer.save_pretrained(tmp_path / kind)
    loaded = FACTORIES[kind][1].from_pretrained(tmp_path / kind)
    assert type(load_action_tokenizer(tmp_path / kind)) is type(tokenizer)
    first, again = tokenizer.encode(actions), loaded.encode(actions)
    assert torch.equal(first.ids, again.ids) and torch.equal(first.lengths, again.lengths)
    assert torch.allclose(tokenizer.decode(first).actions, loaded.decode(again).actions)


def test_malformed_sequences_decode_after_repair_and_are_flagged(tokenizer):
    good = tokenizer.encode(smooth_actions(1, FPS, seed=6)).to_lists()[0]
    rows = [good, good[:-1], good + good[:3], [tokenizer.vocab_size + 7] + good[1:], []]
    decoded = tokenizer.decode(TokenSequences.from_lists(rows))
    assert decoded.actions.shape == (5, FPS, ACTION_DIM) and torch.isfinite(decoded.actions).all()
    assert decoded.repaired.tolist() == [False, True, True, True, True]


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (smooth_actions(2, FPS + 1), r"shape=\(2, 11, 3\): expected \[B, 10, 3\]"),
        (smooth_actions(2, FPS, dim=4), r"expected \[B, 10, 3\]"),
        (smooth_actions(2, FPS).long(), "float tensor"),
        (torch.full((1, FPS, ACTION_DIM), float("nan")), "non-finite"),
    ],
)
def test_bad_input_is_a_clear_error(tokenizer, actions, match):
    with pytest.raises(ValueError, match=match):
        tokenizer.encode(actions)


def test_loading_another_kind_is_a_clear_error(tmp_path):
    BinningTokenizer.fit(FIT_CHUNKS).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="kind='binning'; expected 'fast'"):
        FastTokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="no action_tokenizer.json"):
        BinningTokenizer.from_pretrained(tmp_path / "missing")


def test_values_beyond_the_fitted_range_are_counted_not_hidden():
    binning = BinningTokenizer.fit(FIT_CHUNKS)
    binning.encode(FIT_CHUNKS[:4] * 100)
    assert binning.last_clipped_fraction > 0.5
    binning.encode(FIT_CHUNKS[:4])
    assert binning.last_clipped_fraction < 0.05


def test_registry_loads_actioncodec_checkpoints_and_rejects_other_directories(tmp_path):
    tiny_policy().save_pretrained(tmp_path / "checkpoint")
    loaded = load_action_tokenizer(tmp_path / "checkpoint")
    assert loaded.kind == "actioncodec" and (loaded.fixed_length, loaded.vocab_size) == (4, 64)
    with pytest.raises(ValueError, match="expected a saved action tokenizer"):
        load_action_tokenizer(tmp_path)
    with pytest.raises(ValueError, match="levels=2: expected 1..1"):
        ActionCodecActionTokenizer.from_checkpoint(tmp_path / "checkpoint", levels=2)


def test_registry_reads_every_rvq_level_when_asked(tmp_path):
    tiny_policy(rvq_levels=3).save_pretrained(tmp_path / "rvq")
    assert load_action_tokenizer(tmp_path / "rvq").fixed_length == 4  # a checkpoint's VQ form by default
    full = load_action_tokenizer(tmp_path / "rvq", all_levels=True)
    assert full.fixed_length == 12 and full.token_levels == [TokenLevel(4, 0, 64)] * 3
    assert describe_tokenizer(full)["token_levels"] == [[4, 0, 64]] * 3
    full.save_pretrained(tmp_path / "saved")
    assert load_action_tokenizer(tmp_path / "saved").fixed_length == 12  # a saved tokenizer keeps its depth


@pytest.mark.parametrize("kind", ["vqvla", "nac", "actioncodec"])
def test_residual_tokenizers_decode_their_coarse_levels_alone(kind, tmp_path):
    if kind == "actioncodec":
        tiny_policy(rvq_levels=2).save_pretrained(tmp_path / "rvq")
        tokenizer = load_action_tokenizer(tmp_path / "rvq", all_levels=True)
    else:
        tokenizer = FACTORIES[kind][0](tmp_path)
    assert isinstance(tokenizer, ResidualActionTokenizer)
    actions = smooth_actions(4, FPS, seed=9)
    encoded = tokenizer.encode(actions)
    levels = list(encoded.ids.split([level.length for level in tokenizer.token_levels], dim=1))
    assert torch.allclose(tokenizer.decode_levels(levels).actions, tokenizer.decode(encoded).actions, atol=1e-6)
    coarse = tokenizer.decode_levels(levels[:1])
    assert coarse.actions.shape == actions.shape and not coarse.repaired.any()
    assert not torch.allclose(coarse.actions, tokenizer.decode(encoded).actions)


def test_binning_and_fast_have_no_levels():
    assert not isinstance(BinningTokenizer.fit(FIT_CHUNKS, bins=8), ResidualActionTokenizer)
    assert describe_tokenizer(FastTokenizer.fit(FIT_CHUNKS, vocab_size=300))["token_levels"] is None


def test_vqvla_ids_use_one_range_per_residual_level():
    tokenizer = fitted_vqvla()
    ids = tokenizer.encode(smooth_actions(8, FPS, seed=9)).ids.reshape(8, 2, -1)  # [B, levels, positions]
    assert (ids[:, 0] < 64).all() and ((ids[:, 1] >= 64) & (ids[:, 1] < 128)).all()
    assert tokenizer.vocab_size == 128 and tokenizer.fixed_length == 2 * 3  # 10 steps padded to 12, / 4


def test_nac_has_one_coarse_and_one_fine_scale_with_offset_ranges():
    tokenizer = fitted_nac()
    # 10 steps x 3 dims = 30 samples, padded to 32 (hop 4 x stride 2); 8 latent frames: 4 pooled + 8 codes
    assert tokenizer.model.level_lengths == [4, 8] and tokenizer.fixed_length == 12 and tokenizer.vocab_size == 64
    ids = tokenizer.encode(smooth_actions(8, FPS, seed=9)).ids
    assert (ids[:, :4] < 32).all() and ((ids[:, 4:] >= 32) & (ids[:, 4:] < 64)).all()


def test_nac_istft_head_gives_hop_samples_per_frame_and_inverts_the_matching_stft():
    from lerobot_actioncodec.tokenizers.nac import ISTFTHead, istft_same

    head = ISTFTHead(dim=8, hop=4)
    assert head(torch.randn(2, 5, 8)).shape == (2, 20)
    signal = torch.randn(2, 20, dtype=torch.float64)
    window = torch.hann_window(16, dtype=torch.float64)
    padded = torch.nn.functional.pad(signal[:, None], (6, 6), mode="reflect")[:, 0]  # (n_fft - hop) / 2
    spectrum = torch.stft(padded, 16, 4, window=window, center=False, return_complex=True)
    assert spectrum.shape == (2, 9, 5) and torch.allclose(istft_same(spectrum, 4, window), signal)


def test_nac_training_step_updates_generator_and_discriminator_from_their_own_losses():
    from lerobot_actioncodec.tokenizers.nac import NACSettings, NeuralActionCodec

    torch.manual_seed(0)
    settings = NACSettings(FPS, ACTION_DIM, channels=8, ratios=(2, 2), latent_dim=16, codebook_size=16,
                           decoder_dim=16, convnext_layers=1)  # fmt: skip
    model = NeuralActionCodec(settings).train()
    normalized = smooth_actions(8, FPS, seed=2)
    loss, logs = model.training_loss(normalized)
    assert {"loss_reconstruction", "loss_adversarial", "loss_feature_matching", "loss_discriminator"} <= set(logs)
    loss.backward()
    assert all(p.grad is not None for p in model.discriminator.parameters() if p.requires_grad)
    assert model.decoder.embed.weight.grad.abs().sum() > 0
    assert all(p.requires_grad for p in model.discriminator.parameters())  # unfrozen after the generator pass
    # the discriminator's gradient comes from its own loss only: the same as from that loss alone
    expected = {n: p.grad.clone() for n, p in model.discriminator.named_parameters()}
    model.zero_grad()
    signal, reconstruction, _, _ = model(normalized)
    real, fake = model.discriminator(signal), model.discriminator(reconstruction.detach())
    sum(((r - 1) ** 2).mean() + (f**2).mean() for (r, _), (f, _) in zip(real, fake, strict=True)).backward()
    # the codebooks saw one more EMA update, but the discriminator's inputs are the same signal and a
    # reconstruction whose value changed only through that update, so compare directions loosely
    for name, p in model.discriminator.named_parameters():
        assert torch.nn.functional.cosine_similarity(p.grad.flatten(), expected[name].flatten(), dim=0) > 0.9, name


def test_vqvla_paper_layout_encodes_the_whole_chunk_into_one_token_per_level(tmp_path):
    """whole_chunk=True: one latent per chunk, as VQ-VLA's paper and code (4 levels x 256 codes: 4 tokens), trained
    with the paper's squared error; it saves, loads and decodes like the default layout."""
    paper = dict(whole_chunk=True, reconstruction_loss="mse", commitment_weight=4.0, channels=16, latent_dim=16)
    tokenizer = VQVLATokenizer.fit(FIT_CHUNKS, steps=30, batch_size=64, levels=4, codebook_size=32, **paper)
    assert tokenizer.fixed_length == 4 and [level.length for level in tokenizer.token_levels] == [1, 1, 1, 1]
    tokens = tokenizer.encode(FIT_CHUNKS[:5])
    tokenizer.save_pretrained(tmp_path)
    loaded = load_action_tokenizer(tmp_path)
    assert torch.equal(loaded.encode(FIT_CHUNKS[:5]).ids, tokens.ids)
    assert loaded.decode(tokens).actions.shape == FIT_CHUNKS[:5].shape


def test_vqvla_rejects_an_unknown_reconstruction_loss():
    with pytest.raises(ValueError, match="reconstruction_loss='huber'"):
        VQVLATokenizer.fit(FIT_CHUNKS, steps=1, reconstruction_loss="huber")
