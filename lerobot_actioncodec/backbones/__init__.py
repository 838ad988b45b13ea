"""Backbones shared by the VLA heads: they turn (cameras, state, task) into a prefix and predict action tokens."""
