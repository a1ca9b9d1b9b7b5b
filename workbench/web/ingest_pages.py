"""Ingest in the browser: paste an article, upload a .txt or .html file, or fetch a page by URL."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, url_for

from workbench.db import db
from workbench.errors import ValidationError, WorkbenchError
from workbench.web import bp, login_required

FIELDS = ("text", "title", "url", "publisher", "author", "published_at")
UPLOADS = (".txt", ".html", ".htm")


def _from_url(form: dict[str, str]) -> dict[str, str]:
    """Fill the text and the metadata the user left blank from the page at ``fetch_url``."""
    address = (request.form.get("fetch_url") or "").strip()
    if not address:
        return form
    from workbench.ingest.fetch import page_fields

    try:
        page = page_fields(address, current_app.config)
    except WorkbenchError as exc:
        # The fetch's errors name "url"; on this form that is the fetch field.
        exc.errors = {("fetch_url" if k == "url" else k): v for k, v in (exc.errors or {}).items()}
        raise
    filled = {k: v or "" for k, v in page.items()}
    return {**filled, **{k: v for k, v in form.items() if v}, "text": page["text"]}


def _from_upload(form: dict[str, str]) -> dict[str, str]:
    """Fill the text (and a missing title) from the uploaded file, if one was sent."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return form
    name = upload.filename.lower()
    if not name.endswith(UPLOADS):
        raise WorkbenchError(
            f"upload a .txt or .html file, not {upload.filename!r}",
            errors={"file": ["not .txt or .html"]},
            status=422,
        )
    raw = upload.read(current_app.config["MAX_ARTICLE_BYTES"] * 4 + 1)
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("the file is not UTF-8 text", errors={"file": ["not UTF-8"]}) from None
    if name.endswith(".txt"):
        return {**form, "text": content}
    from workbench.ingest.html import article_from_html

    page = article_from_html(content)
    return {**form, "text": page.text, "title": form.get("title") or page.title or ""}


@bp.route("/articles/new", methods=["GET", "POST"])
@login_required("admin")
def ingest_page():
    """Show the ingest form; on a valid post, ingest and go to the article with its claims."""
    from workbench.ingest import ingest_raw

    form = {name: request.form.get(name, "") for name in FIELDS}
    form["fetch_url"] = request.form.get("fetch_url", "")
    if request.method == "GET":
        return render_template("ingest.html", form=form, error=None, errors={})
    try:
        data = _from_upload(_from_url({k: v for k, v in form.items() if k != "fetch_url"}))
        raw = {k: v for k, v in data.items() if v != "" or k == "text"}
        article, created = ingest_raw(
            raw, current_app.config, actor=g.user.email, user_id=g.user.id, via="web", raw_input=raw
        )
        db.session.commit()
    except WorkbenchError as exc:
        db.session.rollback()
        # The API's message, next to the field it names; what the user typed stays in the form.
        errors = {k: (v if isinstance(v, list) else [v]) for k, v in (exc.errors or {}).items()}
        errors = {k.removeprefix("$."): v for k, v in errors.items()}
        return render_template("ingest.html", form=form, error=exc.message, errors=errors), exc.status
    return redirect(url_for("web.article_page", article_id=article.id, new=1 if created else 0))
