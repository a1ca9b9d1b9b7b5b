"""Fetch an article page from a URL: the ingest's one outbound call, guarded against SSRF.

A URL someone types must not make the workbench read its own network: only http(s), and by
default only public addresses. The host is resolved once and the connection goes to the address
that was checked (the URL is rewritten to it; ``Host`` and TLS's SNI and certificate check keep
the name), so a name that resolves to a public address when checked and a private one when
connecting (DNS rebinding) cannot slip through. Redirects are followed by hand, each hop checked
the same way. The body is read with a time limit for the whole fetch and a size limit.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any

from workbench.errors import ValidationError, WorkbenchError

#: What a page may be: an HTML page, or plain text.
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)
REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchFailed(WorkbenchError):
    """The page could not be fetched (refused connection, unknown host, an HTTP error)."""

    status = 502


class FetchTimedOut(FetchFailed):
    """The page did not arrive within the time limit."""

    status = 504


@dataclass(frozen=True)
class Policy:
    """Which addresses a fetch may connect to besides public ones."""

    allow_private: bool = False
    networks: tuple[Network, ...] = ()

    def allows(self, address: Address) -> bool:
        """Say whether the workbench may connect to ``address``."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if self.allow_private or any(address in net for net in self.networks):
            return True
        # is_global is False for private, loopback, link-local (cloud metadata at 169.254.169.254),
        # shared (100.64/10), reserved, documentation and unspecified addresses.
        return address.is_global and not address.is_multicast


def parse_policy(value: str | bool | None) -> Policy:
    """Read WORKBENCH_INGEST_ALLOW_PRIVATE_URLS: unset or false: public addresses only; true: any
    address; otherwise a comma-separated list of networks also allowed (``10.1.0.0/16,127.0.0.1``)."""
    if isinstance(value, bool):
        return Policy(allow_private=value)
    text = (value or "").strip().lower()
    if text in {"", "0", "false", "no", "off"}:
        return Policy()
    if text in {"1", "true", "yes", "on"}:
        return Policy(allow_private=True)
    try:
        networks = tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part)
    except ValueError as exc:
        raise WorkbenchError(
            f"WORKBENCH_INGEST_ALLOW_PRIVATE_URLS must be true, false or a list of networks: {exc}"
        ) from None
    return Policy(networks=networks)


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str  # lower case, no parameters
    charset: str | None
    body: bytes


def _refused(url: str, why: str) -> ValidationError:
    return ValidationError(f"{url} refused: {why}", errors={"url": [why]})


def _resolve(host: str, port: int, url: str) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(
            f"{url}: cannot resolve {host!r} ({exc})", errors={"url": ["unknown host"]}
        ) from None
    seen: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen


def _checked_address(url: Any, policy: Policy) -> Address:
    """Resolve the URL's host once and return the first address the policy allows."""
    shown = str(url)
    if url.scheme not in ("http", "https"):
        raise _refused(shown, f"only http and https URLs can be fetched, not {url.scheme or 'no'} scheme")
    if not url.host:
        raise _refused(shown, "the URL has no host")
    addresses = _resolve(url.host, url.port or (443 if url.scheme == "https" else 80), shown)
    for address in addresses:
        if policy.allows(address):
            return address
    listed = ", ".join(str(a) for a in addresses)
    raise _refused(
        shown,
        f"{url.host} is a private, loopback or otherwise non-public address ({listed}); "
        "set WORKBENCH_INGEST_ALLOW_PRIVATE_URLS to allow it",
    )


def fetch(url: str, *, timeout: float, max_bytes: int, policy: Policy, user_agent: str) -> Fetched:
    """GET ``url`` (following up to MAX_REDIRECTS redirects, each checked) and return the body.

    Raises a 422 for a URL the policy refuses, a page over ``max_bytes`` or of a type that is
    not a page; a 502 when it cannot be fetched; a 504 when it takes more than ``timeout``
    seconds in all.
    """
    import httpx

    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _refused(str(url), f"not a valid URL ({exc})") from None
    deadline = time.monotonic() + timeout
    # No proxies from the environment (the proxy, not the checked address, would connect) and no
    # kept connections (each hop's TLS session belongs to the name it was checked for).
    with httpx.Client(
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            address = _checked_address(current, policy)
            target = current.copy_with(host=str(address), username=None, password=None, fragment=None)
            headers = {"Host": current.netloc.decode("ascii"), "User-Agent": user_agent}
            extensions = {"sni_hostname": current.host} if current.scheme == "https" else {}
            try:
                with client.stream("GET", target, headers=headers, extensions=extensions) as response:
                    if response.status_code in REDIRECTS and response.headers.get("location"):
                        current = current.join(response.headers["location"])
                        continue
                    return _read(str(current), response, deadline, max_bytes, timeout)
            except httpx.TimeoutException:
                raise _timed_out(str(current), timeout) from None
            except httpx.HTTPError as exc:
                raise FetchFailed(
                    f"{current} could not be fetched: {exc or type(exc).__name__}",
                    errors={"url": ["not fetched"]},
                ) from None
    raise _refused(url, f"more than {MAX_REDIRECTS} redirects")


def _timed_out(url: str, timeout: float) -> FetchTimedOut:
    return FetchTimedOut(f"{url} did not answer within {timeout:g} s", errors={"url": ["timed out"]})


def _read(url: str, response: Any, deadline: float, max_bytes: int, timeout: float) -> Fetched:
    if response.status_code >= 400:
        raise FetchFailed(
            f"{url} answered HTTP {response.status_code}", errors={"url": [f"HTTP {response.status_code}"]}
        )
    raw_type = response.headers.get("content-type", "")
    content_type = raw_type.split(";", 1)[0].strip().lower()
    if content_type not in HTML_TYPES + TEXT_TYPES:
        raise _refused(url, f"{content_type or 'no content type'} is not a web page or plain text")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes)
    body = bytearray()
    # Decoded bytes are counted, so a compressed body cannot unpack past the limit.
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(url, max_bytes)
        if time.monotonic() > deadline:  # a server that trickles bytes never trips a read timeout
            raise _timed_out(url, timeout)
    return Fetched(url, content_type, response.charset_encoding, bytes(body))


def _too_large(url: str, max_bytes: int) -> ValidationError:
    return _refused(url, f"the page is larger than {max_bytes} bytes")


def page_fields(url: str, config: dict[str, Any]) -> dict[str, Any]:
    """Fetch ``url`` and return the single-article API's fields for it: an HTML page reduced to its
    article and metadata, plain text as it is; ``url`` is the page's canonical URL, or where the
    fetch ended."""
    from flask import has_app_context

    from workbench import __version__
    from workbench.ingest.html import article_from_html

    if has_app_context():
        from workbench.db import release_for_network

        # A writer's transaction (begun by the request's token lookup) holds SQLite's write lock
        # and must not wait on somebody else's web server: end it before fetching.
        release_for_network()
    fetched = fetch(
        url,
        timeout=config["INGEST_URL_TIMEOUT"],
        max_bytes=config["INGEST_URL_MAX_BYTES"],
        policy=parse_policy(config.get("INGEST_ALLOW_PRIVATE_URLS")),
        user_agent=f"workbench/{__version__} (fact-check ingest)",
    )
    if fetched.content_type in HTML_TYPES:
        # Without a charset in the header, trafilatura reads the page's own <meta charset>.
        html = _decode(fetched, strict=False) if fetched.charset else fetched.body
        fields = article_from_html(html, field="url").fields()
        fields["url"] = fields["url"] or fetched.url
        return fields
    return {"text": _decode(fetched, strict=True), "url": fetched.url}


def _decode(fetched: Fetched, *, strict: bool) -> str:
    """Decode by the declared charset, else UTF-8; plain text must decode cleanly, a page need not."""
    encoding = fetched.charset or "utf-8"
    try:
        return fetched.body.decode(encoding, errors="strict" if strict else "replace")
    except LookupError:
        raise _refused(fetched.url, f"unknown charset {encoding!r}") from None
    except UnicodeDecodeError:
        raise _refused(fetched.url, f"the text is not valid {encoding}") from None
