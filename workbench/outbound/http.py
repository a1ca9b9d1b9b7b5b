"""The one place the workbench calls an integrator's endpoint: a POST with a timeout, no redirects.

``post`` never raises: every outcome (an answer, a refused address, a refused connection, a
timeout) comes back as an ``Outcome`` for the attempt log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from workbench import __version__
from workbench.errors import ValidationError
from workbench.outbound.urls import checked_address

#: Bytes of the receiver's answer kept with the attempt, for the integrator's debugging.
EXCERPT_BYTES = 1024
USER_AGENT = f"fact-check-workbench/{__version__} (Standard Webhooks)"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None


def post(url: str, body: str, headers: dict[str, str], *, timeout: float, allow_private: bool) -> Outcome:
    """Send one signed event; a 2xx answer is a success, anything else (or none) a failure.

    The host is resolved and checked now and the connection made to that address (``Host`` and
    TLS's SNI keep the name), as the ingest fetcher does. Redirects are not followed: a 3xx could
    point anywhere, so it counts as a failure the integrator can see and fix.
    """
    started = time.monotonic()
    status: int | None = None
    excerpt: str | None = None
    error: str | None = None
    try:
        parts, address = checked_address(url, allow_private=allow_private)
        target = httpx.URL(url).copy_with(host=str(address), fragment=None)
        request_headers = {
            **headers,
            "Host": parts.netloc,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        # No proxies from the environment (the proxy, not the checked address, would connect).
        with (
            httpx.Client(trust_env=False, follow_redirects=False, timeout=httpx.Timeout(timeout)) as client,
            client.stream(
                "POST", target, content=body.encode("utf-8"), headers=request_headers, extensions=extensions
            ) as response,
        ):
            status = response.status_code
            excerpt = _excerpt(response)
    except ValidationError as exc:
        error = f"refused: {exc.message}"
    except httpx.TimeoutException:
        error = f"timed out after {timeout:g} s"
    except httpx.ConnectError as exc:
        error = f"could not connect: {_reason(exc)}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {_reason(exc)}"
    except Exception as exc:  # noqa: BLE001 - an attempt's failure is logged, never raised
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    if status is not None and not 200 <= status < 300:
        error = f"answered HTTP {status}"
    return Outcome(status is not None and error is None, status, duration_ms, error, excerpt)


def _excerpt(response: httpx.Response) -> str | None:
    """The start of the answer; an answer whose body never comes still counts by its status."""
    raw = b""
    try:
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass
    return raw[:EXCERPT_BYTES].decode("utf-8", errors="replace") or None


def _reason(exc: BaseException) -> str:
    """The innermost cause, in one line ('[Errno 111] Connection refused')."""
    for _ in range(10):
        if exc.__cause__ is None and exc.__context__ is None:
            break
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
