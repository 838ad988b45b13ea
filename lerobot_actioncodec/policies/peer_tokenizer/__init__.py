from .configuration_peer_tokenizer import PeerTokenizerConfig

__all__ = ["PeerTokenizerConfig"]
