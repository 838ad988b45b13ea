import pytest
import torch

from lerobot_actioncodec import ActionCodecTokenizer
from lerobot_actioncodec.policies.actioncodec_tokenizer.modeling_actioncodec_tokenizer import ActionCodecTokenizerPolicy
from lerobot_actioncodec.rvq_post_training import export_vq_checkpoint, prepare_rvq_checkpoint

from .helpers import FPS, smooth_actions, tiny_policy, train_steps, training_batch


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    root = tmp_path_factory.mktemp("rvq")
    vq = tiny_policy()
    train_steps(vq, 5, training_batch(16))
    vq.save_pretrained(root / "vq")
    prepare_rvq_checkpoint(root / "vq", root / "rvq_init", levels=3)
    rvq = ActionCodecTokenizerPolicy.from_pretrained(root / "rvq_init")
    history = train_steps(rvq, 10, training_batch(16, seed=1))
    rvq.save_pretrained(root / "rvq")
    export_vq_checkpoint(root / "rvq", root / "vq_export")
    return root, history


def test_level0_tokens_identical_after_post_training(stages):
    root, _ = stages
    vq = ActionCodecTokenizer.from_pretrained(root / "vq")
    rvq = ActionCodecTokenizer.from_pretrained(root / "rvq")
    actions = smooth_actions(32, FPS, seed=7)
    full = rvq.encode(actions)
    assert full.shape == (32, 3, 4)
    assert torch.equal(full[:, 0], vq.encode(actions))
    assert torch.equal(rvq.encode(actions, levels=1)[:, 0], vq.encode(actions))
    assert rvq.decode(full).shape == rvq.decode(full[:, :1]).shape == (32, FPS, 3)


def test_post_training_trains_only_residuals_and_decoder(stages):
    _, history = stages
    assert set(history[0]) >= {"loss_reconstruction", "loss_vq"}
    assert not {"loss_tcl", "loss_clip", "loss_latent_l1"} & set(history[0])
    rvq = ActionCodecTokenizerPolicy.from_pretrained(stages[0] / "rvq")
    trainable = {n for n, p in rvq.named_parameters() if p.requires_grad}
    assert trainable and all("encoder" not in n and "levels.0." not in n and "action_in" not in n for n in trainable)
    assert any("decoder" in n for n in trainable)


def test_exported_vq_keeps_tokens_and_takes_post_trained_decoder(stages):
    root, _ = stages
    vq = ActionCodecTokenizer.from_pretrained(root / "vq")
    rvq = ActionCodecTokenizer.from_pretrained(root / "rvq")
    exported = ActionCodecTokenizer.from_pretrained(root / "vq_export")
    actions = smooth_actions(16, FPS, seed=9)
    tokens = exported.encode(actions)
    assert exported.num_levels == 1 and torch.equal(tokens, vq.encode(actions))
    assert torch.allclose(exported.decode(tokens), rvq.decode(tokens))
    assert not torch.allclose(exported.decode(tokens), vq.decode(tokens))


def test_rvq_commands_reject_wrong_inputs(stages, tmp_path):
    root, _ = stages
    with pytest.raises(ValueError, match="expected a single-level VQ tokenizer"):
        prepare_rvq_checkpoint(root / "rvq", tmp_path / "a")
    with pytest.raises(ValueError, match="expected an RVQ tokenizer"):
        export_vq_checkpoint(root / "vq", tmp_path / "b")
    with pytest.raises(ValueError, match="levels=1: expected >= 2"):
        prepare_rvq_checkpoint(root / "vq", tmp_path / "c", levels=1)
    with pytest.raises(ValueError, match="not empty"):
        prepare_rvq_checkpoint(root / "vq", root / "rvq")
