"""Methods: importing this package registers every method family."""

from disbench.methods.base import Method, MethodConfig, TorchMethod, TrainableConfig
from disbench.methods.registry import METHODS
from disbench.methods import geomancer, linear, pretrained, reference, vae  # noqa: F401  (registration)
from disbench.methods import multispace, simclr, vicreg  # noqa: F401  (registration)

__all__ = ["METHODS", "Method", "MethodConfig", "TorchMethod", "TrainableConfig"]
