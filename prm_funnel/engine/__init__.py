"""Pure-Python funnel statistics (no ``odoo`` import): tested with plain pytest."""

from .stats import wilson_interval

__all__ = ["wilson_interval"]
