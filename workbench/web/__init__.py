"""Server-rendered pages: sign-in with an API token, dashboard, articles, the reviewer's desk."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, Flask, abort, g, redirect, request, session, url_for
from markupsafe import Markup, escape

from workbench.labelstudio.people import Directory
from workbench.models import User
from workbench.web import security

bp = Blueprint("web", __name__)
# The headers and cookie flags cover the whole app (API, static files, errors), not only pages.
bp.record_once(lambda state: security.init_app(cast(Flask, state.app)))

_USER_KEY = "workbench.web_user"


def signed_in_user() -> User | None:
    """Return the user of this browser session if the session is live (see web.security)."""
    # Cached per request (not on g: tests keep one app context across many requests).
    if _USER_KEY not in request.environ:
        request.environ[_USER_KEY] = security.session_user(session)
    return request.environ[_USER_KEY]


def forget_signed_in_user() -> None:
    """Drop this request's cached user (after signing in or out)."""
    request.environ.pop(_USER_KEY, None)


def login_required(*roles: str) -> Callable:
    """Let a page run for a signed-in user holding one of ``roles`` (admins always may)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            user = signed_in_user()
            if user is None:
                return redirect(url_for("web.login", next=request.path))
            if roles and user.role != "admin" and user.role not in roles:
                abort(403, description=f"your role ({user.role}) may not open this page")
            g.user = user
            return view(*args, **kwargs)

        return wrapper

    return decorator


def csrf_token() -> str:
    """Return this session's form token (forms post it back; see check_csrf)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


@bp.before_request
def check_csrf() -> None:
    """Refuse form posts that do not carry the session's token (sign-in too: no login CSRF)."""
    if request.method == "POST":
        sent, expected = request.form.get("csrf", ""), session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            abort(400, description="the form expired or did not come from this site; reload and try again")


@bp.app_context_processor
def template_helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "current_user": signed_in_user}


@bp.app_template_filter("when")
def when_filter(value: Any) -> Markup:
    """A time as ``<time>``: UTC in the page, the reader's local form once the script ran."""
    from workbench.models.base import as_utc

    if value is None:
        return Markup("—")
    if isinstance(value, str):
        from datetime import datetime

        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return Markup(escape(value))
    stamp = as_utc(value)
    return Markup('<time datetime="{}">{} UTC</time>').format(
        stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), stamp.strftime("%Y-%m-%d %H:%M")
    )


_PEOPLE_KEY = "workbench.people"


def people() -> Directory:
    """Return this request's directory of people (loaded once, on the first name it gives)."""
    if _PEOPLE_KEY not in request.environ:
        from workbench.schemas import sees_blind

        viewer = signed_in_user()
        # Blind overlap: whoever gets the blind shapes sees no other annotator's identity either.
        blind = viewer is None or sees_blind(viewer.role)
        request.environ[_PEOPLE_KEY] = Directory(
            blind=blind, own_ls_id=viewer.label_studio_user_id if viewer else None
        )
    return request.environ[_PEOPLE_KEY]


@bp.app_template_filter("person")
def person_filter(value: Any, kind: str | None = None) -> Markup:
    """Name who did something ("Name · email"): an annotation's author, a user, a Label Studio id
    or an audit actor; a note says when they have no workbench account or are not known.

    ``kind="user"``: ``value`` is a workbench user's id (a bare number is a Label Studio id).
    """
    person = people().user(value) if kind == "user" else people().name(value)
    if person.note:
        return Markup('{} <span class="muted">({})</span>').format(person.label, person.note)
    return Markup("{}").format(person.label)


@bp.app_template_filter("claim_type")
def claim_type_filter(value: str) -> str:
    """A claim type as Full Fact's typology names it ("quantity in the past or present")."""
    from workbench.extraction.claim_types import label

    return label(value)


@bp.app_template_filter("http_url")
def http_url_filter(value: Any) -> str | None:
    """``{% if u|http_url %}``: link only http(s) URLs (a ``javascript:`` one is shown as text)."""
    return security.http_url(value)


from workbench.web import (  # noqa: E402,F401
    agreement_pages,
    articles_pages,
    exports_pages,
    ingest_pages,
    operations_pages,
    pages,
    review_pages,
    users_pages,
)
