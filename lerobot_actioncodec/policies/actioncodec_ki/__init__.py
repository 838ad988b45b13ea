from .configuration_actioncodec_ki import ActionCodecKIConfig

__all__ = ["ActionCodecKIConfig"]
