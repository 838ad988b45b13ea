from .configuration_actioncodec_pd import ActionCodecPDConfig

__all__ = ["ActionCodecPDConfig"]
