"""Reading a tracking request's body: size, JSON and shape (no ``odoo``).

The body is read in bounded chunks (a chunked body without
``Content-Length`` is never read past the limit), then parsed as JSON in a
way that cannot fail on a value the database refuses: numbers that cannot be
stored become :class:`~.events.InvalidNumber` markers, so only the event that
carries one is rejected (see ``validate_event``), never the whole request.
"""

import json

from .events import MAX_BODY_BYTES, MAX_EVENTS, InvalidNumber

MAX_INT_DIGITS = 40  # larger integers are marked, not parsed
READ_CHUNK = 64 * 1024


class BodyError(ValueError):
    """A body refused as a whole: ``status`` (400/413), ``code`` and message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code


def read_limited(stream, content_length=None, max_bytes=MAX_BODY_BYTES):
    """The body's bytes, reading at most ``max_bytes + 1`` of them.

    >>> import io
    >>> read_limited(io.BytesIO(b"{}"))
    b'{}'
    >>> try:
    ...     read_limited(io.BytesIO(b"x" * 11), max_bytes=10)
    ... except BodyError as exc:
    ...     print(exc.status, exc)
    413 The body is larger than 10 bytes.
    """
    if content_length and content_length > max_bytes:
        raise BodyError(413, "too_large", f"The body is larger than {max_bytes} bytes.")
    chunks, size = [], 0
    while size <= max_bytes:
        chunk = stream.read(min(READ_CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > max_bytes:
        raise BodyError(413, "too_large", f"The body is larger than {max_bytes} bytes.")
    return b"".join(chunks)


def _parse_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return InvalidNumber(text)
    return value


def _parse_int(text):
    digits = text.lstrip("-")
    return InvalidNumber(text) if len(digits) > MAX_INT_DIGITS else int(text)


def loads(data):
    """Parse JSON bytes; raise :class:`BodyError` (400) when they are not JSON.

    >>> loads(b'{"n": NaN, "big": 1e400, "ok": 1.5}')
    {'n': InvalidNumber('NaN'), 'big': InvalidNumber('1e400'), 'ok': 1.5}
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, "malformed_json", f"The body is not UTF-8: {exc}") from exc
    try:
        return json.loads(
            text,
            parse_constant=InvalidNumber,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
    except RecursionError as exc:
        raise BodyError(
            400, "malformed_json", "The body is not valid JSON: nested too deeply."
        ) from exc
    except ValueError as exc:
        raise BodyError(
            400, "malformed_json", f"The body is not valid JSON: {exc}"
        ) from exc


def parse_events_body(data):
    """The request object ``{"events": [...], ...}`` of a tracking body.

    >>> parse_events_body(b'{"events": []}')
    {'events': []}
    >>> try:
    ...     parse_events_body(b'[]')
    ... except BodyError as exc:
    ...     print(exc.status, exc.code)
    400 malformed_body
    """
    payload = loads(data)
    if not isinstance(payload, dict):
        raise BodyError(400, "malformed_body", "The body must be a JSON object.")
    events = payload.get("events")
    if not isinstance(events, list):
        raise BodyError(400, "malformed_body", "'events' must be a list of events.")
    if len(events) > MAX_EVENTS:
        raise BodyError(
            413, "too_many_events", f"At most {MAX_EVENTS} events per request."
        )
    return payload
