"""The only door to Label Studio: every outbound call to it goes through :class:`LabelStudioClient`.

Built on ``label-studio-sdk`` 2.x (``LabelStudio``). Checked against Label Studio 1.23.2
(community edition); see ``docs/label-studio-notes.md`` for what the server really does.

Errors are translated (docstrings say "May raise LabelStudioError", which includes its
subclass): a server that cannot be reached (refused, timed out, DNS) raises
:class:`~workbench.errors.LabelStudioUnavailable`; any other failure (HTTP 4xx/5xx, a reply
the SDK cannot parse) raises :class:`~workbench.errors.LabelStudioError`. Every returned
object is a plain JSON-like ``dict`` (dates as ISO strings), never an SDK model.

Retries: the SDK retries 5xx/408/409/429 and dropped connections on its own. A retried
POST can create things twice (tasks!), so every write is sent with ``max_retries=0``; reads
get one retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx
import pydantic
import requests
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from workbench.errors import LabelStudioError, LabelStudioUnavailable

__all__ = ["LabelStudioClient", "client_from_config", "DEFAULT_URL"]

DEFAULT_URL = "http://127.0.0.1:8080"

_READ = {"max_retries": 1}
_WRITE = {"max_retries": 0}
# Settings every workbench project keeps. Predictions never pre-fill an annotator's answers
# ("Use predictions to prelabel tasks" off): an annotator who submits without touching a
# control must be recorded as not having answered it, not as agreeing with the machine.
PROJECT_SETTINGS: dict[str, Any] = {"show_collab_predictions": False}

T = TypeVar("T")


def _plain(obj: Any) -> Any:
    """Turn an SDK (pydantic) model, or a list of them, into plain JSON-like data."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, list):
        return [_plain(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, pydantic.BaseModel):
        return obj.model_dump(mode="json", by_alias=True)
    return obj


def _detail(body: Any) -> str:
    """Pull the useful part out of a Label Studio error body."""
    if isinstance(body, dict):
        parts = []
        for key in ("detail", "message", "validation_errors"):
            value = body.get(key)
            if value:
                parts.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        return (": ".join(parts) if parts else json.dumps(body, ensure_ascii=False))[:800]
    text = str(body or "").strip()
    if text.lstrip().startswith("<"):
        return "(HTML error page)"
    return text[:500]


class LabelStudioClient:
    """A small, typed facade over Label Studio's REST API (via label-studio-sdk)."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 15.0):
        """Build a client; make no network call. Never raises."""
        self.base_url = (base_url or DEFAULT_URL).rstrip("/")
        self.api_key = api_key
        self.timeout = float(timeout)
        # Our own httpx client, so that close() releases its connections deterministically.
        self._httpx = httpx.Client(timeout=self.timeout, follow_redirects=True)
        self._sdk = LabelStudio(
            base_url=self.base_url, api_key=api_key, timeout=self.timeout, httpx_client=self._httpx
        )

    def close(self) -> None:
        """Release pooled connections. Never raises."""
        self._httpx.close()

    def __enter__(self) -> LabelStudioClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabelStudioClient({self.base_url!r})"

    # ------------------------------------------------------------------ plumbing

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call, translating its failures into workbench errors."""
        try:
            return fn()
        except ApiError as exc:
            raise LabelStudioError(
                f"Label Studio could not {what}: HTTP {exc.status_code} {_detail(exc.body)}",
                errors={"status_code": exc.status_code},
            ) from exc
        except (httpx.ConnectError, httpx.TimeoutException, httpx.NetworkError) as exc:
            raise LabelStudioUnavailable(
                f"Label Studio at {self.base_url} is unreachable (while trying to {what}): {exc}"
            ) from exc
        except httpx.HTTPError as exc:
            raise LabelStudioError(f"Label Studio could not {what}: {exc}") from exc
        except pydantic.ValidationError as exc:
            raise LabelStudioError(
                f"Label Studio gave an unexpected reply when asked to {what}: {exc}"
            ) from exc

    def _raw(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one SDK ``with_raw_response`` call; return the server's JSON exactly as sent.

        The SDK's models mark every field as set, so dumping them adds dozens of null keys the
        server never sent; the raw body is what we want to store and compare.
        """
        resp = self._call(what, fn)
        raw = getattr(resp, "response", None)
        if isinstance(raw, httpx.Response):
            if not raw.content:
                return None
            try:
                return raw.json()
            except ValueError as exc:
                raise LabelStudioError(f"Label Studio gave a non-JSON reply when asked to {what}") from exc
        return _plain(getattr(resp, "data", resp))

    def _http(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """Send one raw request with ``requests`` where the SDK falls short; return its JSON."""
        try:
            resp = requests.request(
                method,
                f"{self.base_url}{path}",
                headers={"Authorization": f"Token {self.api_key}"},
                timeout=self.timeout,
                **kwargs,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise LabelStudioUnavailable(
                f"Label Studio at {self.base_url} is unreachable (while trying to {what}): {exc}"
            ) from exc
        except requests.RequestException as exc:
            raise LabelStudioError(f"Label Studio could not {what}: {exc}") from exc
        if resp.status_code >= 400:
            try:
                body: Any = resp.json()
            except ValueError:
                body = resp.text
            raise LabelStudioError(
                f"Label Studio could not {what}: HTTP {resp.status_code} {_detail(body)}",
                errors={"status_code": resp.status_code},
            )
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError as exc:
            raise LabelStudioError(f"Label Studio gave a non-JSON reply when asked to {what}") from exc

    # ------------------------------------------------------------------ health

    def health(self) -> bool:
        """Tell whether Label Studio answers ``GET /health`` and accepts our token. Never raises."""
        # Plain requests: the SDK has no health call, and this must stay cheap and exception-free.
        try:
            r = requests.get(f"{self.base_url}/health", timeout=min(self.timeout, 5.0))
            if r.status_code != 200:
                return False
            r = requests.get(
                f"{self.base_url}/api/current-user/whoami",
                headers={"Authorization": f"Token {self.api_key}"},
                timeout=min(self.timeout, 5.0),
            )
            return r.status_code == 200
        except Exception:  # noqa: BLE001 - health must never raise
            return False

    # ------------------------------------------------------------------ projects

    def get_project(self, project_id: int) -> dict:
        """Fetch one project. May raise LabelStudioError (HTTP 404 included)."""
        return self._raw(
            f"get project {project_id}",
            lambda: self._sdk.projects.with_raw_response.get(project_id, request_options=_READ),
        )

    def find_project(self, title: str) -> dict | None:
        """Find the project with exactly this title, or None. May raise LabelStudioError."""

        # The API's ?title= filter is a substring match ("probe" finds "probe-1"): compare here.
        def run() -> list:
            return list(self._sdk.projects.list(title=title, page_size=100, request_options=_READ))

        for project in self._call(f"list projects titled {title!r}", run):
            if project.title == title:
                return self.get_project(int(project.id))
        return None

    def ensure_project(
        self, title: str, label_config: str, *, maximum_annotations: int = 1, description: str = ""
    ) -> tuple[dict, bool]:
        """Find the project by exact title or create it; bring its config and settings up to date.

        Returns ``(project, created)``. Raises LabelStudioError (e.g. a config Label Studio rejects,
        a title under 3 characters) or LabelStudioUnavailable.
        """
        existing = self.find_project(title)
        if existing is None:
            created = self._raw(
                f"create project {title!r}",
                lambda: self._sdk.projects.with_raw_response.create(
                    title=title,
                    label_config=label_config,
                    maximum_annotations=maximum_annotations,
                    description=description,
                    **PROJECT_SETTINGS,
                    request_options=_WRITE,
                ),
            )
            return self.get_project(created["id"]), True
        changes: dict[str, Any] = {}
        # Label Studio stores the config stripped of surrounding whitespace.
        if (existing.get("label_config") or "").strip() != label_config.strip():
            changes["label_config"] = label_config
        if existing.get("maximum_annotations") != maximum_annotations:
            changes["maximum_annotations"] = maximum_annotations
        if description and existing.get("description") != description:
            changes["description"] = description
        changes.update({k: v for k, v in PROJECT_SETTINGS.items() if existing.get(k) != v})
        if not changes:
            return existing, False
        pid = existing["id"]
        self._call(
            f"update project {pid} ({', '.join(sorted(changes))})",
            lambda: self._sdk.projects.update(pid, **changes, request_options=_WRITE),
        )
        return self.get_project(pid), False

    def delete_project(self, project_id: int) -> None:
        """Delete a project and all its tasks. May raise LabelStudioError."""
        self._call(
            f"delete project {project_id}",
            lambda: self._sdk.projects.delete(project_id, request_options=_WRITE),
        )

    def count_tasks(self, project_id: int) -> int:
        """Count the tasks of a project. May raise LabelStudioError."""
        # The SDK pager hides the list's "total"; one raw page of size 1 gives it cheaply.
        data = self._http(
            "GET",
            "/api/tasks/",
            f"count tasks of project {project_id}",
            params={"project": project_id, "page_size": 1, "page": 1, "fields": "task_only"},
        )
        return int(data.get("total", 0)) if isinstance(data, dict) else len(data or [])

    def update_project(self, project_id: int, **fields: Any) -> dict:
        """Change some of a project's settings (``PATCH /api/projects/<id>/``); return the project.

        Label Studio ignores unknown fields. May raise LabelStudioError (e.g. a rejected config).
        """
        if not fields:
            return self.get_project(project_id)
        return self._http(
            "PATCH",
            f"/api/projects/{project_id}/",
            f"update project {project_id} ({', '.join(sorted(fields))})",
            json=fields,
        )

    def set_maximum_annotations(self, project_id: int, n: int) -> dict:
        """Ask for ``n`` annotations per task (overlap) in a project; return the project.

        Label Studio then sets the ``overlap`` of every task with overlap > 1 (of every task, when
        none has) to ``n`` and recomputes ``is_labeled``: this undoes :meth:`reopen_task`. Raises
        ValueError when ``n < 1``; may raise LabelStudioError.
        """
        if int(n) < 1:
            raise ValueError(f"maximum_annotations must be at least 1, not {n}")
        return self.update_project(project_id, maximum_annotations=int(n))

    def next_task(self, project_id: int) -> dict | None:
        """Take the next task of the label stream for the token's user (``GET /api/projects/<id>/next``).

        Call it on a client built with the annotator's own token (``LabelStudioClient(url,
        annotator_token)``): the stream is per user, and serving a task locks it for that user
        (24 h by default, until they submit or skip). The payload's ``annotations`` is always empty.
        Returns None when the stream has nothing left for this user. May raise LabelStudioError
        (HTTP 404 for an unknown project).
        """
        try:
            return self._http(
                "GET", f"/api/projects/{project_id}/next", f"get the next task of project {project_id}"
            )
        except LabelStudioUnavailable:
            raise
        except LabelStudioError as exc:
            # 1.23 answers an empty stream with 404 {"detail": "There are no tasks for <user>"}.
            if (exc.errors or {}).get("status_code") == 404 and "There are no tasks" in str(exc):
                return None
            raise

    # ------------------------------------------------------------------ webhooks

    def list_webhooks(self, project_id: int) -> list[dict]:
        """List the webhooks registered for one project. May raise LabelStudioError."""
        hooks = self._raw(
            f"list webhooks of project {project_id}",
            lambda: self._sdk.webhooks.with_raw_response.list(project=str(project_id), request_options=_READ),
        )
        return [h for h in hooks or [] if h.get("project") == project_id]

    def ensure_webhook(
        self, project_id: int, url: str, headers: dict[str, str], actions: list[str]
    ) -> tuple[dict, str]:
        """Register (or bring up to date) the project's webhook to ``url``.

        Returns ``(webhook, what)``, ``what`` being "created", "updated" (it was changed or
        disabled) or "unchanged"; full payload, only for ``actions``. May raise LabelStudioError.
        """
        wanted_actions = sorted(set(actions))
        # Create and update send the same settings: the webhook ends up as asked either way.
        settings = {
            "url": url,
            "headers": dict(headers),
            "actions": wanted_actions,
            "send_payload": True,
            "send_for_all_actions": False,
            "is_active": True,
        }
        for hook in self.list_webhooks(project_id):
            if hook.get("url") != url:
                continue
            current = {name: hook.get(name) for name in settings}
            current["headers"] = current["headers"] or {}
            current["actions"] = sorted(current["actions"] or [])
            if current == settings:
                return hook, "unchanged"
            hid = hook["id"]
            self._call(
                f"update webhook {hid} of project {project_id}",
                lambda hid=hid: self._sdk.webhooks.update(hid, **settings, request_options=_WRITE),
            )
            hook = self._raw(
                f"get webhook {hid}",
                lambda hid=hid: self._sdk.webhooks.with_raw_response.get(hid, request_options=_READ),
            )
            return hook, "updated"
        created = self._raw(
            f"create webhook for project {project_id} to {url}",
            lambda: self._sdk.webhooks.with_raw_response.create(
                project=project_id, **settings, request_options=_WRITE
            ),
        )
        return created, "created"

    # ------------------------------------------------------------------ tasks

    def import_tasks(self, project_id: int, tasks: list[dict]) -> list[int]:
        """Import a batch of tasks in one call; return their new ids in input order.

        May raise LabelStudioError (bad task, lost ids) or LabelStudioUnavailable.
        A timeout here leaves it unknown whether the batch landed: callers should reconcile
        by ``claim_uuid`` (see :meth:`task_ids_by_field`) before retrying.
        """
        if not tasks:
            return []
        data = self._raw(
            f"import {len(tasks)} tasks into project {project_id}",
            lambda: self._sdk.projects.with_raw_response.import_tasks(
                project_id, request=tasks, return_task_ids=True, request_options=_WRITE
            ),
        )
        ids = (data or {}).get("task_ids") or []
        # LS 1.23 community imports synchronously and returns task_ids in input order
        # (it builds Task objects by enumerating the payload, then bulk-creates them).
        if len(ids) == len(tasks):
            return [int(i) for i in ids]
        # Otherwise (e.g. an edition that imports asynchronously): map back by claim_uuid.
        uuids = [(t.get("data") or {}).get("claim_uuid") for t in tasks]
        if any(u is None for u in uuids) or len(set(uuids)) != len(uuids):
            raise LabelStudioError(
                f"Label Studio imported into project {project_id} but returned {len(ids)} task ids "
                f"for {len(tasks)} tasks, and the tasks have no unique data.claim_uuid to map them"
            )
        by_uuid = self.task_ids_by_field(project_id, "claim_uuid")
        missing = [u for u in uuids if u not in by_uuid]
        if missing:
            raise LabelStudioError(
                f"Label Studio did not create {len(missing)} of {len(tasks)} tasks "
                f"in project {project_id} "
                f"(first missing claim_uuid: {missing[0]})"
            )
        return [by_uuid[u] for u in uuids]

    def task_ids_by_field(self, project_id: int, field: str) -> dict[Any, int]:
        """Map ``task.data[field] -> task id`` over a project's tasks (last wins on duplicates).

        May raise LabelStudioError.
        """
        out: dict[Any, int] = {}

        def run() -> None:
            for task in self._sdk.tasks.list(
                project=project_id, page_size=1000, fields="task_only", request_options=_READ
            ):
                value = (task.data or {}).get(field)
                if value is not None:
                    out[value] = task.id

        self._call(f"list tasks of project {project_id}", run)
        return out

    def get_task(self, task_id: int) -> dict:
        """Fetch one task (data, annotations, predictions). May raise LabelStudioError."""
        return self._raw(
            f"get task {task_id}",
            lambda: self._sdk.tasks.with_raw_response.get(str(task_id), request_options=_READ),
        )

    def reopen_task(self, task_id: int, overlap: int) -> dict:
        """Send a task back to the label stream until it has ``overlap`` annotations; return the task.

        Non-destructive: sets the task's ``overlap`` and ``is_labeled=false``, keeps every annotation.
        /next then serves it only to annotators who have no annotation on it yet (the earlier
        annotators can still edit theirs by opening the task). A later change of the project's
        ``maximum_annotations`` resets the overlap. Raises ValueError when ``overlap`` does not
        exceed the task's completed annotations; may raise LabelStudioError.
        """
        task = self._http("GET", f"/api/tasks/{task_id}/", f"get task {task_id}")
        done = int(task.get("total_annotations") or 0)
        if int(overlap) <= done:
            raise ValueError(
                f"task {task_id} already has {done} annotations: reopening needs an overlap above {done}, "
                f"not {overlap}"
            )
        return self._http(
            "PATCH",
            f"/api/tasks/{task_id}/",
            f"reopen task {task_id} for {overlap} annotations",
            json={"overlap": int(overlap), "is_labeled": False},
        )

    def iter_tasks(self, project_id: int, page_size: int = 500) -> Iterator[dict]:
        """Yield every task of a project with its full ``annotations`` list, page by page.

        May raise LabelStudioError (possibly midway through the iteration).
        """
        # fields=all (the SDK default) embeds each task's complete annotation objects,
        # so no per-task call is needed.
        pager = self._call(
            f"list tasks of project {project_id}",
            lambda: self._sdk.tasks.list(
                project=project_id, page_size=page_size, fields="all", request_options=_READ
            ),
        )
        iterator = iter(pager)
        while True:
            try:
                task = self._call(f"list tasks of project {project_id}", lambda: next(iterator))
            except StopIteration:
                return
            data = _plain(task)
            if "annotations" not in data or data["annotations"] is None:
                data["annotations"] = self.list_annotations(data["id"])
            yield data

    # ------------------------------------------------------------------ annotations

    def list_annotations(self, task_id: int) -> list[dict]:
        """List all annotations of a task. May raise LabelStudioError."""
        return self._raw(
            f"list annotations of task {task_id}",
            lambda: self._sdk.annotations.with_raw_response.list(task_id, request_options=_READ),
        )

    def get_annotation(self, annotation_id: int) -> dict:
        """Fetch one annotation. May raise LabelStudioError (HTTP 404 once deleted)."""
        return self._raw(
            f"get annotation {annotation_id}",
            lambda: self._sdk.annotations.with_raw_response.get(annotation_id, request_options=_READ),
        )

    def create_annotation(
        self,
        task_id: int,
        result: list[dict],
        *,
        completed_by: int | None = None,
        lead_time: float | None = None,
    ) -> dict:
        """Submit an annotation on a task, as user ``completed_by`` when given (admin token).

        May raise LabelStudioError.
        """
        kwargs: dict[str, Any] = {"result": result}
        if completed_by is not None:
            kwargs["completed_by"] = completed_by
        if lead_time is not None:
            kwargs["lead_time"] = lead_time
        return self._raw(
            f"create an annotation on task {task_id}",
            lambda: self._sdk.annotations.with_raw_response.create(task_id, **kwargs, request_options=_WRITE),
        )

    def update_annotation(
        self, annotation_id: int, result: list[dict], *, lead_time: float | None = None
    ) -> dict:
        """Change an annotation's result (keeps its id; fires ANNOTATION_UPDATED).

        May raise LabelStudioError.
        """
        kwargs: dict[str, Any] = {"result": result}
        if lead_time is not None:
            kwargs["lead_time"] = lead_time
        return self._raw(
            f"update annotation {annotation_id}",
            lambda: self._sdk.annotations.with_raw_response.update(
                annotation_id, **kwargs, request_options=_WRITE
            ),
        )

    def delete_annotation(self, annotation_id: int) -> None:
        """Delete an annotation (fires ANNOTATIONS_DELETED). May raise LabelStudioError."""
        self._call(
            f"delete annotation {annotation_id}",
            lambda: self._sdk.annotations.delete(annotation_id, request_options=_WRITE),
        )

    # ------------------------------------------------------------------ users

    def list_users(self) -> list[dict]:
        """List the users of the token's organization. May raise LabelStudioError."""
        return self._raw("list users", lambda: self._sdk.users.with_raw_response.list(request_options=_READ))

    def get_user(self, user_id: int, *, retry: bool = True) -> dict:
        """Fetch one user (webhooks carry only its id). May raise LabelStudioError (HTTP 404 for
        an id its organization does not know).

        ``retry=False``: one try, no backoff, for a caller that must answer fast (the webhook).
        """
        return self._raw(
            f"get user {user_id}",
            lambda: self._sdk.users.with_raw_response.get(
                user_id, request_options=_READ if retry else {"max_retries": 0}
            ),
        )

    def find_user_by_email(self, email: str) -> dict | None:
        """Find a user by email, case-insensitively, or None. May raise LabelStudioError."""
        wanted = email.strip().lower()
        for user in self.list_users():
            if (user.get("email") or "").strip().lower() == wanted:
                return user
        return None

    def create_user(
        self, email: str, username: str | None = None, first_name: str = "", last_name: str = ""
    ) -> dict:
        """Create a user (email lowercased) in the token's organization.

        The user cannot log in until ``label-studio reset_password`` gives them a password
        (the API ignores ``password``). May raise LabelStudioError (e.g. email taken).
        """
        email = email.strip().lower()
        return self._raw(
            f"create user {email}",
            lambda: self._sdk.users.with_raw_response.create(
                username=username or email,
                email=email,
                first_name=first_name,
                last_name=last_name,
                request_options=_WRITE,
            ),
        )

    def whoami(self) -> dict:
        """Return the user the API key belongs to. May raise LabelStudioError."""
        return self._raw(
            "identify the API key's user",
            lambda: self._sdk.users.with_raw_response.whoami(request_options=_READ),
        )


def client_from_config(config: Mapping) -> LabelStudioClient:
    """Build a client from ``LABEL_STUDIO_URL``, ``LABEL_STUDIO_API_KEY`` (+ ``_TIMEOUT``).

    Raises LabelStudioUnavailable when no API key is configured; makes no network call.
    """
    api_key = config.get("LABEL_STUDIO_API_KEY")
    if not api_key:
        raise LabelStudioUnavailable("Label Studio API key not configured (WORKBENCH_LABEL_STUDIO_API_KEY)")
    url = config.get("LABEL_STUDIO_URL") or DEFAULT_URL
    timeout = float(config.get("LABEL_STUDIO_TIMEOUT") or 15.0)
    return LabelStudioClient(url, api_key, timeout=timeout)
