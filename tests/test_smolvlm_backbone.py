"""The `smolvlm` backbone on the built-in tiny random SmolVLM: vocabulary, A.3 prompt, padding, decoding, LoRA."""

import pytest
import torch

from lerobot_actioncodec.backbones.smolvlm import SmolVLMBackbone, expand_action_vocabulary, load_vlm
from lerobot_actioncodec.config_errors import InvalidConfigError
from lerobot_actioncodec.policies.actioncodec.configuration_actioncodec import ActionCodecConfig
from lerobot_actioncodec.policies.actioncodec.modeling_actioncodec import ActionCodecPolicy

from .helpers import POLICY_FEATURES, lerobot_train, policy_batch

S, N = 64, 4
IMAGE_BLOCK = "<fake_token_around_image><global-img>" + "<image>" * 4 + "<fake_token_around_image>"


@pytest.fixture(scope="module")
def backbone() -> SmolVLMBackbone:
    torch.manual_seed(0)
    return SmolVLMBackbone("tiny-random", codebook_size=S, num_action_tokens=N).eval()


def make_policy(tokenizer_dir, **overrides) -> ActionCodecPolicy:
    torch.manual_seed(0)
    settings = dict(backbone="smolvlm", vlm_model_name="tiny-random", image_size=16, device="cpu")
    return ActionCodecPolicy(
        ActionCodecConfig(tokenizer_path=str(tokenizer_dir), **{**POLICY_FEATURES, **settings, **overrides})
    )


def make_batch(size: int = 3) -> dict:
    return policy_batch(size, ["open the drawer", "push the cube to the far corner of the table", "x"][:size])


def test_vocabulary_grows_by_s_contiguous_action_tokens_initialised_at_the_mean():
    torch.manual_seed(0)
    model, tokenizer = load_vlm("tiny-random", pretrained_weights=False)
    old = model.get_input_embeddings().weight.detach().clone()
    first = expand_action_vocabulary(model, tokenizer, S)
    rows = model.get_input_embeddings().weight.detach()
    assert first == len(old) and len(tokenizer) == len(rows) == len(old) + S
    assert tokenizer.convert_ids_to_tokens(first + 5) == "<|action_5|>"
    assert tokenizer.encode("<|action_63|>", add_special_tokens=False) == [first + 63]  # one token, not bytes
    assert torch.equal(rows[: len(old)], old)  # existing rows untouched
    assert (rows[first:].mean(0) - old.mean(0)).abs().max() < 0.02  # new rows start around the old rows' mean
    assert model.get_output_embeddings().weight.shape[0] == len(rows)
    assert expand_action_vocabulary(model, tokenizer, S) == first and len(tokenizer) == len(rows)  # idempotent


def test_prompt_is_appendix_a3_in_smolvlm_chat_format(backbone):
    text = backbone.prompt_text(torch.tensor([0.1234, -2.0]), "open the drawer")
    assert text == (
        "<|im_start|>System: Analyze the input image and predict robot actions.<end_of_utterance>\n"
        f"User:{IMAGE_BLOCK}**State**: 0.12 -2.00, **Task**: open the drawer.<end_of_utterance>\n"
        "Assistant: { 'action': "
    )


def test_prompts_are_left_padded_so_answers_line_up_and_padding_changes_nothing(backbone):
    images, state = torch.rand(3, 3, 16, 32), torch.randn(3, 2)
    tasks = ["a", "a much longer task description", "b"]
    prompt = backbone.prefix(images, state, tasks)
    assert prompt.pixel_values.shape == (3, 1, 3, 32, 32) and prompt.pixel_values.abs().max() <= 1
    assert prompt.attention_mask[:, -1].all() and not prompt.attention_mask[0, 0]  # padding on the left
    tokens = torch.randint(0, S, (3, N), generator=torch.Generator().manual_seed(0))
    logits = backbone(prompt, tokens)
    assert logits.shape == (3, N, S)
    alone = backbone(backbone.prefix(images[:1], state[:1], tasks[:1]), tokens[:1])
    assert torch.allclose(logits[:1], alone, atol=1e-4)  # the padded row predicts as if it were alone
    changed = tokens.clone()
    changed[:, -1] = (changed[:, -1] + 1) % S
    assert torch.equal(backbone(prompt, changed), logits)  # the last target never feeds a prediction


def test_action_logits_are_the_output_layers_action_rows(backbone):
    prompt = backbone.prefix(torch.rand(2, 3, 16, 16), torch.randn(2, 2), ["a", "b"])
    hidden = backbone.vlm.model(**vars(prompt)).last_hidden_state[:, -1]
    full = backbone.vlm.lm_head(hidden)
    rows = slice(backbone.first_action_id, backbone.first_action_id + S)
    assert torch.allclose(backbone.action_logits(hidden), full[:, rows])


def test_constrained_decoding_gives_n_action_tokens(backbone):
    prompt = backbone.prefix(torch.rand(4, 3, 16, 16), torch.randn(4, 2), ["a", "bb", "ccc", "dddd"])
    for temperature, top_k in [(0.0, None), (1.5, None), (1.0, 5)]:
        tokens = backbone.generate(prompt, temperature, top_k)
        assert tokens.shape == (4, N) and 0 <= int(tokens.min()) and int(tokens.max()) < S
        names = backbone.tokenizer.convert_ids_to_tokens((backbone.first_action_id + tokens).flatten().tolist())
        assert all(name.startswith("<|action_") for name in names)


def test_a_prompt_with_repeated_rows_decodes_each_copy_as_its_original(backbone):
    """RTC samples its candidates in one batch of repeated prompts: greedy decoding gives each copy its row's ids."""
    prompt = backbone.prefix(torch.rand(2, 3, 16, 16), torch.randn(2, 2), ["a", "a longer task"])
    repeated = prompt.repeat_rows(2)
    assert torch.equal(repeated.input_ids[2:], prompt.input_ids[1:].repeat(2, 1))
    assert torch.equal(backbone.generate(repeated), backbone.generate(prompt).repeat_interleave(2, 0))


def test_policy_trains_a_step_and_predicts_a_valid_chunk(tokenizer_dir):
    policy = make_policy(tokenizer_dir)
    optimizer = torch.optim.AdamW(policy.get_optim_params(), lr=1e-3)
    batch = make_batch()
    loss, logs = policy.forward(batch)
    assert abs(loss.item() - torch.log(torch.tensor(float(S))).item()) < 1.0 and 0 <= logs["token_accuracy"] <= 1
    loss.backward()
    optimizer.step()
    assert policy.forward(batch)[0].item() < loss.item()
    chunk = policy.eval().predict_action_chunk(batch)
    assert chunk.shape == (3, 10, 3) and torch.isfinite(chunk).all() and policy.invalid_chunks == 0


def test_lora_trains_adapters_and_embeddings_only_and_round_trips(tokenizer_dir, tmp_path):
    policy = make_policy(tokenizer_dir, lora_rank=4)
    trainable = {name for name, p in policy.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or "embed_tokens" in n or "lm_head" in n for n in trainable)
    assert any("lora_B" in n for n in trainable) and not any("vision_model" in n for n in trainable)
    frozen = policy.backbone.vlm.model.text_model.layers[0].self_attn.q_proj.base_layer.weight.detach().clone()
    optimizer = torch.optim.AdamW(policy.get_optim_params(), lr=1e-2)
    policy.forward(make_batch())[0].backward()
    optimizer.step()
    assert torch.equal(policy.backbone.vlm.model.text_model.layers[0].self_attn.q_proj.base_layer.weight, frozen)
    policy.eval().save_pretrained(tmp_path / "policy")
    loaded = ActionCodecPolicy.from_pretrained(tmp_path / "policy").eval()
    assert torch.equal(loaded.predict_action_chunk(make_batch()), policy.predict_action_chunk(make_batch()))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"lora_rank": -1}, "lora_rank=-1"),
        ({"lora_dropout": 1.0}, "lora_dropout=1.0"),
        ({"lora_alpha": 0}, "lora_alpha=0"),
    ],
)
def test_bad_smolvlm_settings(tokenizer_dir, overrides, match):
    with pytest.raises(InvalidConfigError, match=match):
        make_policy(tokenizer_dir, **overrides)


def test_backbone_defaults(tokenizer_dir):
    vlm = ActionCodecConfig(tokenizer_path=str(tokenizer_dir))
    assert (vlm.backbone, vlm.vlm_model_name, vlm.image_size, vlm.optimizer_lr) == (
        "smolvlm",
        "HuggingFaceTB/SmolVLM2-2.2B-Instruct",
        224,
        1e-4,
    )
    compact = ActionCodecConfig(tokenizer_path=str(tokenizer_dir), backbone="compact")
    assert (compact.image_size, compact.optimizer_lr) == (128, 3e-4)


@pytest.mark.slow
def test_lerobot_train_with_the_tiny_random_smolvlm(tiny_dataset, tokenizer_dir, tmp_path):
    repo_id, root = tiny_dataset
    ckpt = lerobot_train(repo_id, root, tmp_path / "pol", "--policy.type=actioncodec",
                         f"--policy.tokenizer_path={tokenizer_dir}", "--policy.backbone=smolvlm",
                         "--policy.vlm_model_name=tiny-random", "--policy.image_size=16", steps=3)  # fmt: skip
    assert (ckpt / "vlm" / "tokenizer.json").is_file()
    policy = ActionCodecPolicy.from_pretrained(ckpt).eval()
    batch = {"observation.images.front": torch.rand(2, 3, 8, 8), "observation.state": torch.randn(2, 3),
             "task": ["reach the red block"] * 2}  # fmt: skip
    chunk = policy.predict_action_chunk(batch)
    assert chunk.shape == (2, 10, 3) and torch.isfinite(chunk).all() and policy.invalid_chunks == 0


def test_unreachable_vlm_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match=r"vlm_model_name='.*missing': cannot load it .*backbone=compact"):
        load_vlm(str(tmp_path / "missing"), pretrained_weights=True)
