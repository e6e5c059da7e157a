"""Site keys and identity signatures (no ``odoo``).

A site's secret key authenticates its server on the tracking API; the same
secret signs the identities its pages pass to the snippet: the site's server
computes ``HMAC-SHA256(secret key, normalized email)`` (hexadecimal) and the
page sends it with ``identify``.  Browser events reach an existing person
only with a valid signature.
"""

import hashlib
import hmac
import re

# what a site key can look like: anything else is refused before any query
PUBLIC_KEY_RE = re.compile(r"^prm_pk_[A-Za-z0-9_-]{1,92}$")
SECRET_KEY_RE = re.compile(r"^prm_sk_[A-Za-z0-9_-]{1,192}$")


def hash_key(key):
    """SHA-256 of a secret key (keys are 256-bit random: no need to stretch).

    >>> hash_key("prm_sk_x")[:12]
    '2adec7336717'
    """
    return hashlib.sha256(key.encode()).hexdigest()


def sign_identity(secret, email):
    """The identity signature of a normalized email, as a site's server makes it.

    >>> sign_identity("prm_sk_secret", "jane@example.com")[:16]
    '228633605ff30965'
    """
    return hmac.new(secret.encode(), email.encode(), hashlib.sha256).hexdigest()


def identity_verified(secret, email, signature):
    """True when ``signature`` is the identity signature of ``email`` by
    ``secret`` (constant-time comparison; no secret or no signature: False).

    >>> sig = sign_identity("prm_sk_secret", "jane@example.com")
    >>> identity_verified("prm_sk_secret", "jane@example.com", sig)
    True
    >>> identity_verified("prm_sk_secret", "john@example.com", sig)
    False
    """
    if not (secret and email and signature):
        return False
    given = signature.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(sign_identity(secret, email).encode(), given)
