import json
import shutil

import pytest
import torch

from lerobot_actioncodec import ActionCodecTokenizer

from .helpers import ACTION_DIM, FPS, smooth_actions, tiny_policy, train_steps, training_batch


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    policy = tiny_policy()
    train_steps(policy, 5, training_batch(16))
    path = tmp_path_factory.mktemp("ckpt") / "pretrained_model"
    policy.save_pretrained(path)
    return policy.tokenizer.eval(), path


def test_public_attributes(trained):
    tok, _ = trained
    assert (tok.num_tokens, tok.codebook_size, tok.chunk_length, tok.action_dim) == (4, 64, FPS, ACTION_DIM)


def test_encode_decode_shapes_and_units(trained):
    tok, _ = trained
    actions = smooth_actions(5, FPS)
    tokens = tok.encode(actions)
    assert tokens.shape == (5, 4) and tokens.dtype == torch.long
    assert int(tokens.min()) >= 0 and int(tokens.max()) < 64
    decoded = tok.decode(tokens)
    assert decoded.shape == (5, FPS, ACTION_DIM) and decoded.dtype == torch.float32
    # raw units: the decoded chunk lives around the dataset mean, not around 0
    assert decoded[..., 2].mean().item() == pytest.approx(2.0, abs=1.0)
    assert torch.equal(tok.decode(tokens.unsqueeze(1)), decoded)


def test_save_load_round_trip_identical_tokens(trained):
    tok, path = trained
    loaded = ActionCodecTokenizer.from_pretrained(path)
    actions = smooth_actions(7, FPS, seed=3)
    assert torch.equal(loaded.encode(actions), tok.encode(actions))
    assert torch.allclose(loaded.decode(tok.encode(actions)), tok.decode(tok.encode(actions)))


def with_value(actions: torch.Tensor, index: tuple[int, int, int], value: float) -> torch.Tensor:
    actions[index] = value
    return actions


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (with_value(smooth_actions(2, FPS), (0, 3, 1), float("nan")), "non-finite"),
        (with_value(smooth_actions(2, FPS), (1, 0, 0), float("inf")), "non-finite"),
        (smooth_actions(2, FPS, dim=4), "D=4: expected action_dim=3"),
        (smooth_actions(2, FPS + 1), "T=11: expected chunk_length=10"),
        (smooth_actions(2, FPS)[0], "3 dims"),
        (smooth_actions(2, FPS).long(), "float tensor"),
    ],
)  # fmt: skip
def test_bad_actions(trained, actions, match):
    tok, _ = trained
    with pytest.raises(ValueError, match=match):
        tok.encode(actions)


def test_unknown_embodiment(trained):
    tok, _ = trained
    with pytest.raises(ValueError, match="embodiment='aloha': unknown"):
        tok.encode(smooth_actions(1, FPS), embodiment="aloha")
    with pytest.raises(ValueError, match="embodiment='aloha': unknown"):
        tok.decode(torch.zeros(1, 4, dtype=torch.long), embodiment="aloha")


@pytest.mark.parametrize(
    ("tokens", "match"),
    [
        (torch.tensor([[0, 1, 2, 64]]), r"\[0, 64\]: expected ids in \[0, 63\]"),
        (torch.tensor([[0, -1, 2, 3]]), r"\[-1, 3\]"),
        (torch.zeros(1, 5, dtype=torch.long), "n=5: expected num_tokens=4"),
        (torch.zeros(1, 2, 4, dtype=torch.long), "levels=2: expected 1..1"),
        (torch.zeros(1, 4), "integer tensor"),
        (torch.zeros(4, dtype=torch.long), "shape"),
    ],
)
def test_bad_tokens(trained, tokens, match):
    tok, _ = trained
    with pytest.raises(ValueError, match=match):
        tok.decode(tokens)


def test_checkpoint_of_another_type(trained, tmp_path):
    _, path = trained
    other = tmp_path / "other"
    shutil.copytree(path, other)
    config = json.loads((other / "config.json").read_text())
    config["type"] = "act"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="type='act'.*expected 'actioncodec_tokenizer'"):
        ActionCodecTokenizer.from_pretrained(other)
    with pytest.raises(ValueError, match="no config.json"):
        ActionCodecTokenizer.from_pretrained(tmp_path / "missing")


def test_checkpoint_with_missing_weights_is_an_error(trained, tmp_path):
    from safetensors.torch import load_file, save_file

    _, path = trained
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    weights = load_file(broken / "model.safetensors")
    weights.pop(next(k for k in weights if k.startswith("tokenizer.codec.decoder")))
    save_file(weights, broken / "model.safetensors")
    with pytest.raises(RuntimeError, match="Missing key"):
        ActionCodecTokenizer.from_pretrained(broken)


def test_encode_without_normalization_stats_is_an_error():
    from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import (
        ActionCodecTokenizerPolicy,
    )

    from .helpers import tiny_config

    tok = ActionCodecTokenizerPolicy(tiny_config()).tokenizer
    with pytest.raises(ValueError, match="no normalization statistics"):
        tok.encode(smooth_actions(1, FPS))


def test_policy_is_not_a_controller(trained):
    policy = tiny_policy()
    with pytest.raises(NotImplementedError, match="not a control policy"):
        policy.select_action({})
