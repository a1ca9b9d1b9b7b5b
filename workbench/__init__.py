"""Fact-check workbench: article → claims → Label Studio → verdicts → export, with provenance."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # extraction imports this package without needing Flask
    from flask import Flask

__version__ = "0.1.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application; with no argument, read the ``WORKBENCH_*`` environment."""
    from flask import Flask

    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("WORKBENCH_INSTANCE_PATH") or None,
    )
    os.makedirs(app.instance_path, exist_ok=True)

    from workbench import config

    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    from workbench.audit.chain import canonical_json

    # JSON columns are stored canonically (sorted keys, no spaces): the audit chain hashes that text.
    engine_options = {"pool_pre_ping": True, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    engine_options["json_serializer"] = canonical_json
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options

    from flask_migrate import Migrate

    from workbench.db import db
    from workbench.resources import migrations_directory

    db.init_app(app)
    Migrate(app, db, directory=migrations_directory())

    from workbench import api
    from workbench.api.common import BoundedIntConverter, LimitedRequest, refuse_nul_parameters
    from workbench.health import bp as health_bp
    from workbench.logging_setup import RequestLog
    from workbench.web import bp as web_bp

    # Before any route is added: ids too large for an INTEGER column match no route (404).
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = LimitedRequest
    app.before_request(refuse_nul_parameters)
    # flask-smorest's Api installs the one error shape (errors_http) and registers every
    # resource module of workbench/api under /api/v1, with the OpenAPI document.
    api.init_app(app)
    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)
    # Behind WORKBENCH_PROXY_HOPS trusted proxies (nginx in the stack), the client's address and
    # scheme are the ones the proxies saw: the per-address sign-in limit counts clients, not nginx.
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    # Outermost: every request gets an id and one log line, whatever answers it.
    app.wsgi_app = RequestLog(app.wsgi_app)  # type: ignore[method-assign]

    # The same commands on ``flask --app workbench`` and on the test CLI runner.
    from workbench.cli import main as cli_main

    for name, command in cli_main.commands.items():
        app.cli.add_command(command, name)

    return app
