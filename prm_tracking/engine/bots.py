"""Recognize hits from bots, scanners and prefetchers.

Such hits are stored (nothing is lost, and they can be audited) but flagged
``is_bot`` with a reason, and left out of every engagement metric and score.
"""

import re

# Substrings of user agents of crawlers, link checkers, mail scanners and
# preview fetchers (Odoo's own ir.http.is_a_bot list, extended).
BOT_AGENTS = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httpclient",
    "headlesschrome",
    "phantomjs",
    "preview",
    "facebookexternalhit",
    "whatsapp",
    "slack",
    "discord",
    "telegram",
    "skypeuripreview",
    "google-pagerenderer",
    "googleimageproxy",
    "microsoftpreview",
    "ms-office",
    "barracuda",
    "mimecast",
    "proofpoint",
    "scanner",
    "monitor",
    "lighthouse",
)
_BOT_RE = re.compile("|".join(re.escape(s) for s in BOT_AGENTS))
PREFETCH_HEADERS = ("sec-purpose", "purpose", "x-purpose", "x-moz")
CLICK_DELAY_SECONDS = 10  # a click this soon after delivery is a scanner


def bot_reason(
    user_agent=None, method="GET", headers=None, seconds_after_delivery=None, kind=None
):
    """Why this hit is not a person (a short text), or ``None`` if it may be one.

    >>> bot_reason("Mozilla/5.0 (compatible; Googlebot/2.1)")
    'user agent: bot'
    >>> bot_reason("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0") is None
    True
    >>> bot_reason("Mozilla/5.0", seconds_after_delivery=2, kind="email_click")
    'clicked 2 s after delivery'
    """
    if method and method.upper() == "HEAD":
        return "HEAD request"
    for name in PREFETCH_HEADERS:
        value = (headers or {}).get(name) or (headers or {}).get(name.title())
        if value and re.search(r"prefetch|prerender|preview", value, re.I):
            return f"{name} prefetch"
    if user_agent is not None:
        agent = user_agent.strip().lower()
        if not agent:
            return "no user agent"
        match = _BOT_RE.search(agent)
        if match:
            return f"user agent: {match.group(0)}"
    if (
        kind == "email_click"
        and seconds_after_delivery is not None
        and 0 <= seconds_after_delivery < CLICK_DELAY_SECONDS
    ):
        return f"clicked {int(seconds_after_delivery)} s after delivery"
    return None
