"""A tiny, randomly initialised SmolVLM and a byte-level tokenizer built locally: the `smolvlm` backbone offline.

`--policy.vlm_model_name=tiny-random` selects it. It has SmolVLM's architecture (SigLIP-style vision encoder,
pixel-shuffle connector, Llama text model) and its special tokens, at a size that trains in seconds on a CPU,
so tests and smoke runs exercise the real code path without a download. Built deterministically: the same
tokenizer and config every time.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast, SmolVLMConfig

TINY_RANDOM_VLM = "tiny-random"

# SmolVLM's own special tokens: the chat markers and the image placeholders its processor emits.
SMOLVLM_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<end_of_utterance>",
    "<image>",
    "<fake_token_around_image>",
    "<global-img>",
)


def byte_level_tokenizer() -> PreTrainedTokenizerFast:
    """256 byte tokens and SmolVLM's special tokens; encodes any text, needs no training data."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {symbol: index for index, symbol in enumerate(sorted(alphabet))}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<|endoftext|>", eos_token="<end_of_utterance>"
    )
    tokenizer.add_tokens(list(SMOLVLM_SPECIAL_TOKENS[1:]), special_tokens=True)
    return tokenizer


def tiny_smolvlm_config(tokenizer: PreTrainedTokenizerFast) -> SmolVLMConfig:
    """32 px images in 8 px patches, pixel-shuffled 2x: 4 image tokens; a 2-layer, 64-wide Llama."""
    return SmolVLMConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 1024,
            "pad_token_id": tokenizer.pad_token_id,
        },
        scale_factor=2,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
