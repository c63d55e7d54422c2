"""Methods: importing this package registers every method family."""

from disbench.methods.base import Method, MethodConfig, TorchMethod, TrainableConfig
from disbench.methods.registry import METHODS
# registration order is the order of `disbench list methods` and of the quick suite's entries:
# bounds, linear baselines, VAEs, self-supervised methods, then the methods with their own data
from disbench.methods import reference, linear, vae  # noqa: F401, I001  (registration)
from disbench.methods import multispace, simclr, vicreg  # noqa: F401  (registration)
from disbench.methods import geomancer, pretrained  # noqa: F401  (registration)

__all__ = ["METHODS", "Method", "MethodConfig", "TorchMethod", "TrainableConfig"]
