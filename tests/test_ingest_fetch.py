"""Fetching an article page: only http(s), only public addresses unless allowed, each redirect
checked, a time and a size limit — against pages served on 127.0.0.1 by the test."""

from __future__ import annotations

import socket
import time
from datetime import date

import pytest

from tests.ingest_pages import PLAIN_TEXT, PageServer
from workbench.errors import ValidationError
from workbench.ingest.fetch import FetchFailed, FetchTimedOut, Policy, fetch, page_fields, parse_policy

LOOPBACK = parse_policy("127.0.0.1/32")


@pytest.fixture
def pages():
    server = PageServer()
    yield server
    server.close()


def get(url: str, policy: Policy = LOOPBACK, *, timeout: float = 5, max_bytes: int = 1 << 20):
    return fetch(url, timeout=timeout, max_bytes=max_bytes, policy=policy, user_agent="test")


def config(**overrides) -> dict:
    return {
        "INGEST_URL_TIMEOUT": 5.0,
        "INGEST_URL_MAX_BYTES": 1 << 20,
        "INGEST_ALLOW_PRIVATE_URLS": "127.0.0.1/32",
        **overrides,
    }


def test_a_page_is_reduced_to_its_article_with_title_author_date_and_canonical_url(pages):
    fields = page_fields(pages.url("/article.html"), config())
    assert "42 million dollars" in fields["text"] and "Sport | Weather" not in fields["text"]
    assert "Copyright" not in fields["text"]
    assert fields["title"].startswith("Port budget")
    assert fields["author"] == "Mara Quill"
    assert fields["published_at"] == date(2023, 4, 2).isoformat()
    assert fields["url"] == "https://news.example.org/2023/port-budget"
    assert fields["publisher"] == "Harbour Wire"


def test_plain_text_is_taken_as_it_is_with_the_address_it_came_from(pages):
    fields = page_fields(pages.url("/plain.txt"), config())
    assert fields == {"text": PLAIN_TEXT, "url": pages.url("/plain.txt")}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.1"])
def test_loopback_is_refused_by_default_before_anything_is_sent(pages, host):
    with pytest.raises(ValidationError) as refused:
        page_fields(pages.url("/article.html", host=host), config(INGEST_ALLOW_PRIVATE_URLS=None))
    assert "WORKBENCH_INGEST_ALLOW_PRIVATE_URLS" in refused.value.message
    assert refused.value.errors["url"]
    assert pages.seen == []


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1"]
)
def test_private_link_local_and_shared_addresses_are_not_public(address):
    import ipaddress

    assert not Policy().allows(ipaddress.ip_address(address))
    assert Policy(allow_private=True).allows(ipaddress.ip_address(address))


def test_public_addresses_are_allowed():
    import ipaddress

    assert Policy().allows(ipaddress.ip_address("93.184.215.14"))
    assert Policy().allows(ipaddress.ip_address("2606:4700::1111"))


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "javascript:alert(1)", "/x"]
)
def test_only_http_and_https_are_fetched(url):
    with pytest.raises(ValidationError) as refused:
        get(url, Policy(allow_private=True))
    assert "url" in refused.value.errors


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "file:///etc/passwd"]
)
def test_a_redirect_to_a_private_address_or_another_scheme_is_refused(pages, target):
    with pytest.raises(ValidationError) as refused:
        get(pages.url(f"/redirect?to={target}"))
    assert target.split("/")[2] in refused.value.message or "file" in refused.value.message
    assert [path for path, _ in pages.seen] == [f"/redirect?to={target}"]


def test_a_redirect_to_an_allowed_address_is_followed(pages):
    fetched = get(pages.url("/moved"))
    assert fetched.url == pages.url("/article.html")
    assert b"42 million dollars" in fetched.body


def test_a_redirect_loop_stops(pages):
    with pytest.raises(ValidationError, match="redirects"):
        get(pages.url("/loop"))


def test_the_host_is_resolved_once_and_the_checked_address_is_the_one_connected_to(pages, monkeypatch):
    """DNS rebinding: a name that answers 127.0.0.1 when checked and 10.0.0.1 afterwards."""
    real = socket.getaddrinfo
    answers = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.test":
            address = "127.0.0.1" if not answers else "10.255.255.1"
            answers.append(address)
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    fetched = get(pages.url("/article.html", host="rebind.test"))
    assert b"42 million dollars" in fetched.body
    assert answers == ["127.0.0.1"]
    assert pages.seen == [("/article.html", f"rebind.test:{pages.port}")]  # the name kept in Host


def test_an_oversize_body_is_refused_whether_declared_or_streamed(pages):
    with pytest.raises(ValidationError, match="larger than"):
        get(pages.url("/big-declared"))
    with pytest.raises(ValidationError, match="larger than"):
        get(pages.url("/big-streamed"), max_bytes=100_000)


def test_a_slow_server_times_out(pages):
    started = time.monotonic()
    with pytest.raises(FetchTimedOut) as late:
        get(pages.url("/slow"), timeout=0.5)
    assert late.value.status == 504
    assert time.monotonic() - started < 2.5


def test_a_server_that_trickles_bytes_times_out_on_the_whole_fetch(pages):
    started = time.monotonic()
    with pytest.raises(FetchTimedOut):
        get(pages.url("/drip"), timeout=1)
    assert time.monotonic() - started < 2.5


def test_a_type_that_is_not_a_page_is_refused(pages):
    with pytest.raises(ValidationError, match="image/png is not a web page"):
        get(pages.url("/image.png"))


def test_an_http_error_and_a_closed_port_are_bad_gateways(pages):
    with pytest.raises(FetchFailed, match="HTTP 404") as missing:
        get(pages.url("/missing"))
    assert missing.value.status == 502
    with pytest.raises(FetchFailed):
        get("http://127.0.0.1:9/article.html")  # the discard port: nothing listens


def test_a_page_without_article_text_is_refused_naming_the_url(pages):
    with pytest.raises(ValidationError) as empty:
        page_fields(pages.url("/empty.html"), config())
    assert "url" in empty.value.errors


def test_the_setting_reads_true_false_and_networks():
    assert parse_policy(None) == Policy()
    assert parse_policy("false") == Policy()
    assert parse_policy("true") == Policy(allow_private=True)
    assert len(parse_policy("10.1.0.0/16, 127.0.0.1").networks) == 2
