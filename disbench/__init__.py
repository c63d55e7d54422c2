"""disbench: benchmark disentanglement methods under one protocol.

The public Python API (docs/api.md) is what ``__all__`` lists here and in
:mod:`disbench.metrics`; every other module and name is private.
"""

__version__ = "0.2.0"
#: version of the public Python API: a name leaves ``__all__`` or changes meaning only with a new one
API_VERSION = "2"

__all__ = ["API_VERSION", "__version__", "score"]


def __getattr__(name: str):
    # ``score`` loads the scoring path (pandas among it) on first use, so that ``import disbench``
    # and every CLI command stay light
    if name == "score":
        from disbench.api import score

        return score
    raise AttributeError(f"module 'disbench' has no attribute {name!r}")
