"""Web pages served on 127.0.0.1 by the test itself: articles, redirects, slow and oversize answers."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE_HTML = """<!doctype html>
<html><head><title>Port budget | Harbour Wire</title>
<link rel="canonical" href="https://news.example.org/2023/port-budget">
<meta name="author" content="Mara Quill">
<meta property="article:published_time" content="2023-04-02T09:00:00Z">
<meta property="og:site_name" content="Harbour Wire">
</head><body><nav>Home | Sport | Weather</nav>
<article><h1>Port budget</h1>
<p>The city council of Port Ellis approved a budget of 42 million dollars on Tuesday, up 12 percent
from last year.</p>
<p>Unemployment fell to 4.1 percent in March, Mayor Ilse Varga said after the vote.</p>
</article><footer>Copyright Harbour Wire</footer></body></html>
"""

PLAIN_TEXT = "The harbour fees have doubled since 2028, the opposition leader said on Monday.\n"


class Pages(BaseHTTPRequestHandler):
    """Routes by path; every request is noted (path and Host) so a test can see what reached it."""

    seen: list[tuple[str, str]]

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, self.headers.get("Host", "")))
        path = self.path
        if path == "/article.html":
            self._send(200, ARTICLE_HTML.encode(), "text/html; charset=utf-8")
        elif path == "/plain.txt":
            self._send(200, PLAIN_TEXT.encode(), "text/plain; charset=utf-8")
        elif path == "/moved":
            self._send(302, b"", "text/html", Location="/article.html")
        elif path.startswith("/redirect?to="):
            self._send(302, b"", "text/html", Location=path.split("=", 1)[1])
        elif path == "/loop":
            self._send(302, b"", "text/html", Location="/loop")
        elif path == "/big-declared":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
        elif path == "/big-streamed":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no length: read until the server closes, or the limit
            try:
                for _ in range(1000):
                    self.wfile.write(b"<p>" + b"x" * 8190 + b"</p>")
            except OSError:
                pass
            self.close_connection = True
        elif path == "/slow":
            time.sleep(3)
            self._send(200, ARTICLE_HTML.encode(), "text/html")
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"<p>x</p>")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/image.png":
            self._send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
        elif path == "/empty.html":
            self._send(200, b"<html><head><title>Nothing</title></head><body></body></html>", "text/html")
        else:
            self._send(404, b"not here", "text/plain")


class PageServer:
    """A threaded HTTP server on 127.0.0.1 and a free port, stopped by ``close``."""

    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
        self.httpd.daemon_threads = True
        self.httpd.seen = []
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def seen(self) -> list[tuple[str, str]]:
        return self.httpd.seen

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
