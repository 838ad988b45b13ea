"""The ActionCodec network in plain torch (no LeRobot imports): import from the submodules.

architecture.py (hyper-parameters), embeddings.py (Fourier timestamps, soft prompts), perceiver.py,
quantizers.py (VQ + residual levels), model.py (ActionCodecNet), losses.py.
"""
