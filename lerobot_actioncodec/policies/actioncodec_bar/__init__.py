from .configuration_actioncodec_bar import ActionCodecBARConfig

__all__ = ["ActionCodecBARConfig"]
