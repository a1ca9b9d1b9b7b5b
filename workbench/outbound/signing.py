"""Standard Webhooks signatures (https://www.standardwebhooks.com), made by its own library.

``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` with the endpoint's
``whsec_<base64>`` secret. The ``standardwebhooks`` package is the spec authors' reference
implementation (stdlib only, MIT); tests check it against the spec's published test vector.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
#: 32 random bytes: the spec asks for 24 to 64.
SECRET_BYTES = 32


def new_secret() -> str:
    """Return a fresh signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def headers(secret: str, message_id: str, when: datetime, body: str) -> dict[str, str]:
    """Return the three Standard Webhooks headers for one attempt at sending ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, when, body),
    }
