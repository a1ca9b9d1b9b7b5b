"""Which endpoint URLs the workbench may send to: http(s), and public addresses unless allowed.

An admin could otherwise make the workbench call services on its own network (server-side
request forgery). The address rule is the ingest fetcher's (``workbench.ingest.fetch.Policy``:
no loopback, private, link-local, shared, reserved or multicast address); the host is resolved
when the endpoint is registered and again at each attempt, and the attempt connects to the
address that was checked (http.py), so a name that changes its answer cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

import httpx

from workbench.errors import ValidationError
from workbench.ingest.fetch import Address, Policy

URL_MAX = 2000


def parse(url: str) -> SplitResult:
    """Check the URL's form (http(s), a host, no credentials) and return its parts."""
    url = (url or "").strip()
    if not url:
        raise ValidationError("'url' is required", errors={"url": ["required"]})
    if len(url) > URL_MAX:
        raise ValidationError(f"url is longer than {URL_MAX} characters", errors={"url": ["too long"]})
    bad = next((ch for ch in url if ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F), None)
    if bad is not None:
        # urlsplit drops CR, LF and tab before it looks, but the URL stored would keep them, and
        # the HTTP client refuses such a URL at every attempt.
        raise ValidationError(
            f"the URL contains the character U+{ord(bad):04X} (whitespace or a control character)",
            errors={"url": ["invalid character"]},
        )
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port out of range
        httpx.URL(url)  # what delivers the events must be able to read it
    except (ValueError, httpx.InvalidURL) as exc:
        raise ValidationError(f"not a valid URL: {exc}", errors={"url": ["invalid"]}) from None
    if port == 0:
        raise ValidationError("port 0 cannot be connected to", errors={"url": ["port 0"]})
    if parts.scheme not in ("http", "https"):
        raise ValidationError(
            f"endpoint URLs must be http or https, not {parts.scheme or 'schemeless'!r}",
            errors={"url": ["not http(s)"]},
        )
    if not parts.hostname:
        raise ValidationError("the URL names no host", errors={"url": ["no host"]})
    if parts.username or parts.password:
        raise ValidationError(
            "credentials in the URL would be stored and shown: the signature authenticates events",
            errors={"url": ["credentials in URL"]},
        )
    return parts


def checked_address(url: str, *, allow_private: bool) -> tuple[SplitResult, Address]:
    """Resolve the URL's host and return its parts and the first address the policy allows."""
    parts = parse(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(
            f"cannot resolve host {host!r}: {exc}", errors={"url": ["unresolvable"]}
        ) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    policy = Policy(allow_private=allow_private)
    for address in addresses:
        if policy.allows(address):
            return parts, address
    listed = ", ".join(sorted({str(a) for a in addresses}))
    raise ValidationError(
        f"{host} is a loopback, private or otherwise non-public address ({listed}): refused "
        "(set WORKBENCH_OUTBOUND_ALLOW_PRIVATE=1 to allow)",
        errors={"url": ["private address"]},
    )


def check_url(url: str, *, allow_private: bool) -> str:
    """Return the URL, stripped, if events may be sent to it; else raise a ValidationError."""
    checked_address(url, allow_private=allow_private)
    return url.strip()
