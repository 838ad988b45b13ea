"""Action tokenizers: raw action chunks in, token ids out, and back."""

from .actioncodec import ActionCodecTokenizer

__all__ = ["ActionCodecTokenizer"]
