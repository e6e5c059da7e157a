"""Browser origins: normalization and the site's allow-list (no ``odoo``)."""

from urllib.parse import urlsplit


def normalize_origin(value):
    """'https://www.example.com:443/path' -> 'https://www.example.com'.

    >>> normalize_origin("HTTPS://www.Example.com:443/path")
    'https://www.example.com'
    >>> normalize_origin("http://localhost:8069"), normalize_origin("ftp://x")
    ('http://localhost:8069', None)
    """
    if not value or not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip().lower())
        hostname, port = parts.hostname, parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port out of range
        return None
    if parts.scheme not in ("http", "https") or not hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def origin_allowed(lines, origin):
    """True when ``origin`` matches one of the allow-list ``lines``; a line
    ``https://*.example.com`` allows every subdomain and the domain itself.

    >>> lines = ["https://www.example.com", "https://*.example.org"]
    >>> [origin_allowed(lines, o) for o in (
    ...     "https://www.example.com", "https://a.b.example.org",
    ...     "https://example.org", "http://www.example.com",
    ...     "https://evilexample.org")]
    [True, True, True, False, False]
    """
    origin = normalize_origin(origin)
    if not origin:
        return False
    scheme, host = origin.split("://", 1)
    for line in lines:
        if line.startswith(("http://*.", "https://*.")):
            allowed = normalize_origin(line.replace("*.", "", 1))
            if not allowed:
                continue
            a_scheme, a_host = allowed.split("://", 1)
            if scheme == a_scheme and (host == a_host or host.endswith("." + a_host)):
                return True
        elif normalize_origin(line) == origin:
            return True
    return False
