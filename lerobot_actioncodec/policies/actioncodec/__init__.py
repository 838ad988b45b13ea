from .configuration_actioncodec import ActionCodecConfig

__all__ = ["ActionCodecConfig"]
