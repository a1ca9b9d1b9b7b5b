"""Ingest in the browser's form: the API's errors next to the field, what was typed kept."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from tests.factories import DEMO_TEXT
from tests.test_web import sign_in
from workbench.db import db
from workbench.models import Article


def form_token(client) -> str:
    page = client.get("/articles/new").data
    return re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()


def test_pasted_text_is_ingested_and_the_user_lands_on_the_article(client, admin):
    sign_in(client, admin)
    response = client.post(
        "/articles/new",
        data={
            "csrf": form_token(client),
            "text": DEMO_TEXT,
            "title": "Port budget",
            "published_at": "2031-04-02",
        },
    )
    assert response.status_code == 302
    article = db.session.scalar(sa.select(Article))
    assert response.headers["Location"].startswith(f"/articles/{article.id}")
    assert (article.title, article.ingested_via) == ("Port budget", "web")
    page = client.get(response.headers["Location"]).data
    assert b'class="claim' in page


def test_a_bad_date_is_refused_next_to_its_field_and_the_typed_text_is_kept(client, admin):
    sign_in(client, admin)
    response = client.post(
        "/articles/new", data={"csrf": form_token(client), "text": DEMO_TEXT, "published_at": "next week"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="published_at-error"' in page and "next week" in page
    assert "Mara Quill" in page  # the pasted text is still in the form
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 0


def test_an_html_file_is_reduced_to_its_article(client, admin):
    sign_in(client, admin)
    html = (
        "<html><head><title>Port budget</title></head><body><nav>Home | Sport | Weather</nav><article>"
        "<h1>Port budget</h1><p>The council approved a budget of 42 million dollars on Tuesday, "
        "up 12 percent "
        "from last year.</p><p>Unemployment fell to 4.1 percent in March, the mayor said.</p></article>"
        "<footer>Copyright Harbour Wire</footer></body></html>"
    )
    response = client.post(
        "/articles/new",
        data={"csrf": form_token(client), "text": "", "file": (io.BytesIO(html.encode()), "budget.html")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    article = db.session.scalar(sa.select(Article))
    assert "42 million dollars" in article.text and "Sport | Weather" not in article.text
    assert article.title == "Port budget"


def test_only_admins_may_ingest(client, reviewer):
    sign_in(client, reviewer)
    assert client.get("/articles/new").status_code == 403


def test_a_page_fetched_by_url_is_ingested_with_its_metadata(app, client, admin):
    from tests.ingest_pages import PageServer

    app.config["INGEST_ALLOW_PRIVATE_URLS"] = "127.0.0.1/32"
    pages = PageServer()
    try:
        sign_in(client, admin)
        response = client.post(
            "/articles/new",
            data={"csrf": form_token(client), "text": "", "fetch_url": pages.url("/article.html")},
        )
    finally:
        pages.close()
    assert response.status_code == 302, response.get_data(as_text=True)
    article = db.session.scalar(sa.select(Article))
    assert (article.byline, article.url) == ("Mara Quill", "https://news.example.org/2023/port-budget")
    assert article.title.startswith("Port budget") and article.ingested_via == "web"


def test_a_private_url_is_refused_next_to_its_field_by_default(client, admin):
    sign_in(client, admin)
    response = client.post(
        "/articles/new",
        data={"csrf": form_token(client), "text": "", "fetch_url": "http://127.0.0.1:9/news"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="fetch_url-error"' in page and "http://127.0.0.1:9/news" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 0
