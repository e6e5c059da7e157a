"""Pure-Python scoring maths (no ``odoo`` import): tested with plain pytest."""

from .decay import decay_factor, decayed_points, half_life_from_rate

__all__ = ["decay_factor", "decayed_points", "half_life_from_rate"]
