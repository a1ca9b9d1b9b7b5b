"""The workbench's side of the Label Studio loop, under one name.

The work lives in one module per topic: :mod:`~workbench.labelstudio.bootstrap` (the client from
the configuration, the project and its webhook, the user cache), :mod:`~workbench.labelstudio.tasks`
(a claim's task), :mod:`~workbench.labelstudio.push`, :mod:`~workbench.labelstudio.sync` (the
reconcile) and :mod:`~workbench.labelstudio.rework`. This module re-exports their public names.
"""

from __future__ import annotations

from workbench.labelstudio.bootstrap import (
    WEBHOOK_ACTIONS,
    WEBHOOK_HEADER,
    BootstrapResult,
    _map_user,
    bootstrap,
    get_client,
    label_config,
    label_config_path,
    own_client,
    project_id,
    refresh_users,
    resolve_user,
    webhook_url,
)
from workbench.labelstudio.push import (
    PUSH_LOCK,
    PUSHABLE,
    PushResult,
    _Pending,
    _record_links,
    count_pushable,
    push,
)
from workbench.labelstudio.rework import request_rework
from workbench.labelstudio.sync import SYNC_LOCK, SyncResult, reconcile_states, sync
from workbench.labelstudio.tasks import NO_REWRITE, REWRITE_HINT, task_for

__all__ = [
    "BootstrapResult",
    "NO_REWRITE",
    "PUSHABLE",
    "PUSH_LOCK",
    "PushResult",
    "REWRITE_HINT",
    "SYNC_LOCK",
    "SyncResult",
    "WEBHOOK_ACTIONS",
    "WEBHOOK_HEADER",
    "_Pending",
    "_map_user",
    "_record_links",
    "bootstrap",
    "count_pushable",
    "get_client",
    "label_config",
    "label_config_path",
    "own_client",
    "project_id",
    "push",
    "reconcile_states",
    "refresh_users",
    "request_rework",
    "resolve_user",
    "sync",
    "task_for",
    "webhook_url",
]
