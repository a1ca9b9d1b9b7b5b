"""The interactive API docs: Swagger UI, served by the workbench itself (no CDN).

The assets come from the ``swagger-ui-bundle`` package (Swagger UI's own dist files, as PyPI
ships them); the page holds no inline script or style, so the app's strict Content-Security-Policy
(``script-src 'self'; style-src 'self'``) covers it unchanged. Swagger UI's validator badge, which
would load an image from swagger.io, is switched off in ``static/api-docs.js``.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory, url_for
from markupsafe import escape

from workbench.api.framework import API_PREFIX

docs_bp = Blueprint("api_docs_page", __name__, url_prefix=f"{API_PREFIX}/docs")

#: The files of Swagger UI's dist the page loads (nothing else of the package is served).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})


def _assets_dir() -> str:
    import swagger_ui_bundle

    return swagger_ui_bundle.swagger_ui_path


@docs_bp.get("/")
def page() -> Response:
    """Serve the docs page: Swagger UI reading /api/v1/openapi.json."""
    spec = url_for("api-docs.openapi_json")
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fact-check workbench API</title>
<link rel="icon" type="image/png" href="{url_for(".asset", filename="favicon-32x32.png")}">
<link rel="stylesheet" href="{url_for(".asset", filename="swagger-ui.css")}">
</head>
<body>
<main id="swagger-ui" data-spec-url="{escape(spec)}"></main>
<script src="{url_for(".asset", filename="swagger-ui-bundle.js")}"></script>
<script src="{url_for("static", filename="api-docs.js")}"></script>
</body>
</html>
"""
    return Response(html, mimetype="text/html")


@docs_bp.get("/assets/<filename>")
def asset(filename: str) -> Response:
    """Serve one of Swagger UI's files from the installed package."""
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(_assets_dir(), filename, max_age=3600)
