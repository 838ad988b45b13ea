from .configuration_actioncodec_tokenizer import ActionCodecTokenizerConfig

__all__ = ["ActionCodecTokenizerConfig"]
