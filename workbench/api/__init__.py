"""The REST API under /api/v1: thin views over the domain packages."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from workbench.api import (  # noqa: E402,F401
    articles,
    audit_views,
    claims,
    exports,
    hooks,
    jobs_views,
    review,
    users,
)
