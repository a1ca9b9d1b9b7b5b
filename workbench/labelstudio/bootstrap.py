"""Bootstrap: the client from the configuration, the project and its webhook, the user cache."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from flask import current_app

from workbench import audit
from workbench.db import db
from workbench.errors import WorkbenchError
from workbench.labelstudio.client import LabelStudioClient, client_from_config
from workbench.labelstudio.people import cache_users, map_user
from workbench.models import User

R = TypeVar("R")

WEBHOOK_HEADER = "X-Workbench-Webhook-Secret"
WEBHOOK_ACTIONS = ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]


def label_config_path() -> Path:
    """Return the labelling interface file (``label_config.xml``, shipped inside the package)."""
    from workbench.resources import resource_path

    configured = current_app.config.get("LABEL_CONFIG_PATH")
    if configured:
        return Path(configured)
    return resource_path("label_config.xml")


def label_config() -> tuple[str, str]:
    """Return the labelling config and its sha256."""
    text = label_config_path().read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def webhook_url() -> str:
    return current_app.config["PUBLIC_URL"] + "/api/v1/hooks/label-studio"


def get_client() -> LabelStudioClient:
    """Build the client from the app's configuration (may raise LabelStudioUnavailable)."""
    return client_from_config(current_app.config)


def own_client(func: Callable[..., R]) -> Callable[..., R]:
    """Give ``func`` a client built from the configuration when it got none, and close it after."""

    @functools.wraps(func)
    def wrapper(client: LabelStudioClient | None = None, **kwargs: Any) -> R:
        if client is not None:
            return func(client, **kwargs)
        with get_client() as built:
            return func(built, **kwargs)

    return wrapper


@dataclass
class BootstrapResult:
    project_id: int
    project_created: bool
    webhook_id: int | None
    webhook_created: bool
    label_config_sha256: str


@own_client
def bootstrap(client: LabelStudioClient, *, actor: str = "cli") -> BootstrapResult:
    """Create or update the project and its webhook; running it twice creates nothing new."""
    config_text, config_hash = label_config()
    cfg = current_app.config
    before = client.find_project(cfg["LABEL_STUDIO_PROJECT_TITLE"])
    project, created = client.ensure_project(
        cfg["LABEL_STUDIO_PROJECT_TITLE"],
        config_text,
        maximum_annotations=cfg["ANNOTATION_OVERLAP"],
        description="Claims from the fact-check workbench. Do not edit task data.",
    )
    secret = cfg.get("WEBHOOK_SECRET")
    webhook_id, webhook_created = None, False
    if secret:
        hook, what = client.ensure_webhook(
            int(project["id"]), webhook_url(), {WEBHOOK_HEADER: secret}, WEBHOOK_ACTIONS
        )
        webhook_id, webhook_created = hook.get("id"), what == "created"
    result = BootstrapResult(int(project["id"]), created, webhook_id, webhook_created, config_hash)
    refresh_users(client, actor=actor)
    db.session.commit()
    # Label Studio stores the config stripped of surrounding whitespace.
    config_changed = before is not None and (before.get("label_config") or "").strip() != config_text.strip()
    overlap_changed = before is not None and before.get("maximum_annotations") != cfg["ANNOTATION_OVERLAP"]
    if created or webhook_created or config_changed or overlap_changed:
        audit.append(
            actor,
            "labelstudio.bootstrapped",
            "project",
            result.project_id,
            {
                "project_created": created,
                "webhook_created": webhook_created,
                "label_config_changed": config_changed,
                "maximum_annotations": cfg["ANNOTATION_OVERLAP"],
                "maximum_annotations_changed": overlap_changed,
                "webhook_url": webhook_url() if secret else None,
                "label_config_sha256": config_hash,
            },
        )
        db.session.commit()
    return result


def project_id(client: LabelStudioClient) -> int:
    """Find the configured project; tell the operator to bootstrap when it is missing."""
    title = current_app.config["LABEL_STUDIO_PROJECT_TITLE"]
    project = client.find_project(title)
    if project is None:
        raise WorkbenchError(
            f"Label Studio project {title!r} does not exist: run 'workbench labelstudio bootstrap' first",
            status=409,
        )
    return int(project["id"])


def refresh_users(
    client: LabelStudioClient, *, actor: str = "sync", users: list[dict] | None = None
) -> dict[int, str]:
    """Cache Label Studio's users (one call, unless ``users`` were fetched already), map workbench
    users to them by email, and audit each change; return their emails by id. The caller commits."""
    return cache_users(client.list_users() if users is None else users, actor=actor)


# The users page maps a workbench user to a Label Studio member by hand, with the same event.
_map_user = map_user


def resolve_user(user: User, client: LabelStudioClient | None = None, *, actor: str = "cli") -> int | None:
    """Find the workbench user's Label Studio id by email and cache it (None: no such user there)."""
    if client is None:
        with get_client() as own:
            return resolve_user(user, own, actor=actor)
    found = client.find_user_by_email(user.email)
    _map_user(user, int(found["id"]) if found else None, actor=actor)
    return user.label_studio_user_id
