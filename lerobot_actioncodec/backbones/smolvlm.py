"""`smolvlm` backbone: SmolVLM2 fine-tuned to answer with ActionCodec tokens (paper section 6.1, appendix A.3).

The vocabulary grows by S special tokens `<|action_0|>` ... `<|action_{S-1}|>`, whose embedding rows start at
the mean of the existing rows (transformers' mean resizing). Every sample becomes the A.3 conversation:

    system: "Analyze the input image and predict robot actions."
    user:   <image> "**State**: {state}, **Task**: {task}."
    assistant: "{ 'action': <|action_i|> ... <|action_j|> }"

rendered with SmolVLM's chat template, the image expanded into SmolVLM's single-image placeholder block. The
prompt is left-padded, so the n action positions are the last n of every row: the loss reads them only, and
decoding appends to them with a KV cache. Logits are computed over the S action rows of the output embedding
alone, which is constrained decoding (every other token is impossible) at a fraction of the full-vocab cost.
With `codebook_size=None` the vocabulary stays as it is and the backbone only encodes the prompt, whose KV cache
an action expert (PD, BAR) reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from lerobot.policies.common.vla_utils import resize_with_pad
from torch import Tensor, nn
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    AutoTokenizer,
    DynamicCache,
    PretrainedConfig,
    PreTrainedTokenizerBase,
)
from transformers.models.smolvlm.processing_smolvlm import DEFAULT_CHAT_TEMPLATE, get_image_prompt_string

from ..decoding import DecodingRule, decode_autoregressively
from .action_expert import PrefixContext, keep_first
from .tiny_smolvlm import TINY_RANDOM_VLM, byte_level_tokenizer, tiny_smolvlm_config

ACTION_TOKEN = "<|action_{}|>"
SYSTEM_PROMPT = "Analyze the input image and predict robot actions."
USER_PROMPT = "**State**: {state}, **Task**: {task}."
ANSWER_OPENING = "{ 'action': "
IMAGE_MEAN = IMAGE_STD = 0.5  # SmolVLM's image processor maps [0, 1] pixels to [-1, 1]
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class VLMPrompt:
    """A left-padded batch of A.3 prompts up to the answer's opening, with its images."""

    input_ids: Tensor  # [B, P]
    attention_mask: Tensor  # [B, P]
    pixel_values: Tensor  # [B, 1, 3, H, W]

    def repeat_rows(self, times: int) -> VLMPrompt:
        """Each prompt `times` times in a row (sampling several chunks of one observation in one batch)."""
        fields = (self.input_ids, self.attention_mask, self.pixel_values)
        return VLMPrompt(*(field.repeat_interleave(times, 0) for field in fields))


@dataclass
class LoRASettings:
    rank: int = 0  # 0: full fine-tuning
    alpha: int = 16
    dropout: float = 0.05


def format_state(state: Tensor | None) -> str:
    """The (normalized) state as text, two decimals per dimension."""
    if state is None:
        return "none"
    return " ".join(f"{value:.2f}" for value in state.tolist())


def action_token_names(codebook_size: int) -> list[str]:
    return [ACTION_TOKEN.format(i) for i in range(codebook_size)]


def load_vlm(model_name: str, pretrained_weights: bool) -> tuple[nn.Module, PreTrainedTokenizerBase]:
    """The VLM and its tokenizer: a hub id or a local directory, or the built-in `tiny-random` (offline)."""
    if model_name == TINY_RANDOM_VLM:
        tokenizer = byte_level_tokenizer()
        return AutoModelForImageTextToText.from_config(tiny_smolvlm_config(tokenizer)), tokenizer
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_name)
        if pretrained_weights:
            return AutoModelForImageTextToText.from_pretrained(model_name), tokenizer
        return AutoModelForImageTextToText.from_config(AutoConfig.from_pretrained(model_name)), tokenizer
    except OSError as error:
        raise ValueError(
            f"vlm_model_name={model_name!r}: cannot load it ({str(error).splitlines()[0]}). Expected a reachable hub "
            f"id or a local model directory; offline, use --policy.backbone=compact or "
            f"--policy.vlm_model_name={TINY_RANDOM_VLM}"
        ) from error


def expand_action_vocabulary(model: nn.Module, tokenizer: PreTrainedTokenizerBase, codebook_size: int) -> int:
    """Add `<|action_i|>` tokens (once) and embedding rows for them; returns the id of `<|action_0|>`."""
    names = action_token_names(codebook_size)
    if names[0] not in tokenizer.get_vocab():
        tokenizer.add_tokens(names, special_tokens=True)
    ids = tokenizer.convert_tokens_to_ids(names)
    first = ids[0]
    if ids != list(range(first, first + codebook_size)):
        raise ValueError(f"the tokenizer gave the {codebook_size} action tokens non-contiguous ids")
    if model.get_input_embeddings().num_embeddings < len(tokenizer):
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    return first


class SmolVLMBackbone(nn.Module):
    def __init__(
        self,
        model_name: str,
        codebook_size: int | None,
        num_action_tokens: int,
        pretrained_weights: bool = True,
        lora: LoRASettings | None = None,
        saved_files: Path | None = None,
    ):
        """`saved_files`: a policy checkpoint's `vlm/` folder (expanded tokenizer and config); the weights follow."""
        super().__init__()
        self.codebook_size, self.num_action_tokens = codebook_size, num_action_tokens
        if saved_files is not None:
            self.vlm, self.tokenizer = load_vlm(str(saved_files), pretrained_weights=False)
        else:
            self.vlm, self.tokenizer = load_vlm(model_name, pretrained_weights)
        self.first_action_id = (
            None if codebook_size is None else expand_action_vocabulary(self.vlm, self.tokenizer, codebook_size)
        )
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.lora = lora or LoRASettings()
        if self.lora.rank > 0:
            self._add_lora()
        vision = self.vlm.config.vision_config
        self.image_size = vision.image_size
        image_seq_len = (vision.image_size // vision.patch_size) ** 2 // self.vlm.config.scale_factor**2
        self.image_prompt = get_image_prompt_string(
            0, 0, image_seq_len, "<fake_token_around_image>", "<image>", "<global-img>"
        )

    @property
    def language_config(self) -> PretrainedConfig:
        """The language model's config: what an action expert reading its cache must match."""
        return self.vlm.config.text_config

    def _add_lora(self) -> None:
        """LoRA adapters (peft) on the language model's projections; the embeddings train whole when they hold
        new action rows."""
        from peft import LoraConfig, inject_adapter_in_model

        config = LoraConfig(
            r=self.lora.rank,
            lora_alpha=self.lora.alpha,
            lora_dropout=self.lora.dropout,
            target_modules=r".*text_model.*\.(" + "|".join(LORA_TARGETS) + ")",
        )
        inject_adapter_in_model(config, self.vlm)
        for name, parameter in self.vlm.named_parameters():
            parameter.requires_grad_("lora_" in name)
        if self.first_action_id is not None:  # the new action rows train whole
            self.vlm.get_input_embeddings().requires_grad_(True)
            self.vlm.get_output_embeddings().requires_grad_(True)

    def save_files(self, directory: Path) -> None:
        """What `--policy.path` needs besides the weights: the expanded tokenizer and the VLM's config."""
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(directory)
        self.vlm.config.save_pretrained(directory)

    # ------------------------------------------------------------------ inputs
    def prompt_text(self, state: Tensor | None, task: str) -> str:
        messages = [
            {"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
            {
                "role": "user",
                "content": [
                    {"type": "image"},
                    {"type": "text", "text": USER_PROMPT.format(state=format_state(state), task=task)},
                ],
            },
        ]
        text = self.tokenizer.apply_chat_template(
            messages, chat_template=DEFAULT_CHAT_TEMPLATE, tokenize=False, add_generation_prompt=True
        )
        return text.replace("<image>", self.image_prompt, 1) + " " + ANSWER_OPENING

    def prefix(self, images: Tensor, state: Tensor | None, tasks: list[str]) -> VLMPrompt:
        """Images [B, 3, H, W] in [0, 1] (views side by side), state [B, D] or None, tasks -> prompts."""
        texts = [self.prompt_text(None if state is None else state[i], task) for i, task in enumerate(tasks)]
        encoded = self.tokenizer(
            texts, padding=True, padding_side="left", add_special_tokens=False, return_tensors="pt"
        )
        square = resize_with_pad(images.float(), self.image_size, self.image_size, pad_value=0.0)
        pixels = ((square - IMAGE_MEAN) / IMAGE_STD).unsqueeze(1)
        device = images.device
        return VLMPrompt(encoded["input_ids"].to(device), encoded["attention_mask"].to(device), pixels)

    # ------------------------------------------------------------------ model
    def action_logits(self, hidden: Tensor) -> Tensor:
        """[..., d] -> [..., S]: the output embedding's action rows only."""
        head = self.vlm.get_output_embeddings()
        rows = slice(self.first_action_id, self.first_action_id + self.codebook_size)
        bias = head.bias[rows] if head.bias is not None else None
        return F.linear(hidden, head.weight[rows], bias)

    def _language_model_pass(self, **inputs: Tensor | DynamicCache | None) -> Tensor:
        return self.vlm.model(**inputs).last_hidden_state

    def encode_prefix(self, prompt: VLMPrompt) -> PrefixContext:
        """The VLM over the prompt alone: its KV cache (kept in the autograd graph) for an action expert."""
        cache = DynamicCache()
        self._language_model_pass(
            input_ids=prompt.input_ids,
            attention_mask=prompt.attention_mask,
            pixel_values=prompt.pixel_values,
            past_key_values=cache,
            use_cache=True,
        )
        return PrefixContext(cache, prompt.attention_mask.bool())

    def forward(self, prompt: VLMPrompt, tokens: Tensor, cache: DynamicCache | None = None) -> Tensor:
        """Teacher forcing: target tokens [B, n] -> logits [B, n, S] (position i predicts a_i). With `cache`, the
        pass writes its keys and values there (forward_with_context)."""
        answer = self.first_action_id + tokens[:, :-1]
        hidden = self._language_model_pass(
            input_ids=torch.cat([prompt.input_ids, answer], 1),
            attention_mask=torch.cat([prompt.attention_mask, torch.ones_like(answer)], 1),
            pixel_values=prompt.pixel_values,
            past_key_values=cache,
            use_cache=cache is not None,
        )
        return self.action_logits(hidden[:, prompt.input_ids.shape[1] - 1 :])

    def forward_with_context(self, prompt: VLMPrompt, tokens: Tensor) -> tuple[Tensor, PrefixContext]:
        """Teacher forcing as `forward`, and the prompt's KV cache from the same pass (causal attention: the
        prompt's keys do not depend on the action tokens after it), for an expert trained beside the tokens."""
        cache = DynamicCache()
        logits = self(prompt, tokens, cache)
        keep_first(cache, prompt.input_ids.shape[1])
        return logits, PrefixContext(cache, prompt.attention_mask.bool())

    @torch.no_grad()
    def generate(
        self,
        prompt: VLMPrompt,
        temperature: float = 0.0,
        top_k: int | None = None,
        stop_token: int | None = None,
        rule: DecodingRule | None = None,
    ) -> Tensor:
        """n ids [B, n] over the action vocabulary, decoded with a KV cache (ending early at `stop_token`,
        constrained by `rule`)."""
        cache = DynamicCache()
        mask = prompt.attention_mask

        def next_logits(previous: Tensor | None) -> Tensor:
            nonlocal mask
            if previous is None:
                inputs = {"input_ids": prompt.input_ids, "pixel_values": prompt.pixel_values}
            else:
                mask = torch.cat([mask, torch.ones_like(previous).unsqueeze(1)], 1)
                inputs = {"input_ids": (self.first_action_id + previous).unsqueeze(1)}
            hidden = self._language_model_pass(**inputs, attention_mask=mask, past_key_values=cache, use_cache=True)
            return self.action_logits(hidden[:, -1])

        return decode_autoregressively(next_logits, self.num_action_tokens, temperature, top_k, stop_token, rule)
