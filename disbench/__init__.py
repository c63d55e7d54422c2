"""disbench: benchmark disentanglement methods under one protocol."""

__version__ = "0.2.0"
