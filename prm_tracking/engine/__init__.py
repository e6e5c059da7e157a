"""Pure-Python tracking logic (no ``odoo`` import): tested with plain pytest."""

from .bots import bot_reason
from .events import (
    AGE_BANDS,
    COMPANY_SIZES,
    MAX_EVENTS,
    EventError,
    normalize_email,
    validate_event,
)

__all__ = [
    "AGE_BANDS",
    "COMPANY_SIZES",
    "MAX_EVENTS",
    "EventError",
    "bot_reason",
    "normalize_email",
    "validate_event",
]
