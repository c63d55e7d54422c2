"""The method registry (kept apart from the family modules to avoid import cycles)."""

from disbench.registry import Registry

METHODS: Registry = Registry("method")
