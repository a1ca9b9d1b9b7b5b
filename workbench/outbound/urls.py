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
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        raise ValidationError(f"not a valid URL: {exc}", errors={"url": ["invalid"]}) from None
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
