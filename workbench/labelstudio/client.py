"""The only door to Label Studio: every outbound call to it goes through :class:`LabelStudioClient`.

Built on ``label-studio-sdk`` 2.x (``LabelStudio``). Checked against Label Studio 1.23.2
(community edition); see ``docs/label-studio-notes.md`` for what the server really does.

Errors are translated (docstrings say "May raise LabelStudioError", which includes its
subclass): a server that cannot be reached (refused, timed out, DNS) raises
:class:`~workbench.errors.LabelStudioUnavailable`; any other failure (HTTP 4xx/5xx, a reply
the SDK cannot parse) raises :class:`~workbench.errors.LabelStudioError`. Every returned
object is a plain JSON-like ``dict`` (dates as ISO strings), never an SDK model.

One HTTP stack: the SDK's ``httpx`` client, through which :meth:`LabelStudioClient._http` also
sends the few requests the SDK falls short on; one error translator, :func:`_translate`.

Retries: the SDK retries 5xx/408/409/429 and dropped connections on its own. A retried
POST can create things twice (tasks!), so every write is sent with ``max_retries=0``; reads
get one retry. Requests sent by :meth:`LabelStudioClient._http` are never retried.

Only what the workbench calls lives here; what only the tests need (creating users and
annotations, deleting projects, ...) is in ``tests/ls_client_helpers.py``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

import httpx
import pydantic

from workbench.errors import LabelStudioError, LabelStudioUnavailable

__all__ = ["LabelStudioClient", "client_from_config", "DEFAULT_URL"]

DEFAULT_URL = "http://127.0.0.1:8080"

# The SDK's RequestOptions (a TypedDict): typed as Any, so the SDK is not imported at start.
_READ: Any = {"max_retries": 1}
_WRITE: Any = {"max_retries": 0}
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


def _translate(exc: Exception, what: str, base_url: str) -> LabelStudioError:
    """Turn one failed call into the workbench error it means (the one place that decides).

    Unreachable (refused, timed out, DNS, dropped) -> LabelStudioUnavailable; an HTTP error
    status (the SDK's ``ApiError``, or an ``httpx.HTTPStatusError`` from a raw request) ->
    LabelStudioError with ``errors={"status_code": ...}``; anything else httpx or the SDK's
    models raise -> LabelStudioError. Any other exception is not a Label Studio failure: re-raised.
    """
    from label_studio_sdk.core.api_error import ApiError

    if isinstance(exc, ApiError):
        return LabelStudioError(
            f"Label Studio could not {what}: HTTP {exc.status_code} {_detail(exc.body)}",
            errors={"status_code": exc.status_code},
        )
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        try:
            body: Any = exc.response.json()
        except ValueError:
            body = exc.response.text
        return LabelStudioError(
            f"Label Studio could not {what}: HTTP {status} {_detail(body)}",
            errors={"status_code": status},
        )
    if isinstance(exc, (httpx.ConnectError, httpx.TimeoutException, httpx.NetworkError)):
        return LabelStudioUnavailable(
            f"Label Studio at {base_url} is unreachable (while trying to {what}): {exc}"
        )
    if isinstance(exc, httpx.HTTPError):
        return LabelStudioError(f"Label Studio could not {what}: {exc}")
    if isinstance(exc, pydantic.ValidationError):
        return LabelStudioError(f"Label Studio gave an unexpected reply when asked to {what}: {exc}")
    raise exc


def _json(resp: httpx.Response, what: str) -> Any:
    """Return a reply's JSON body (None when empty). Raises LabelStudioError when it is not JSON."""
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError as exc:
        raise LabelStudioError(f"Label Studio gave a non-JSON reply when asked to {what}") from exc


class LabelStudioClient:
    """A small, typed facade over Label Studio's REST API (via label-studio-sdk)."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 15.0):
        """Build a client; make no network call. Never raises."""
        self.base_url = (base_url or DEFAULT_URL).rstrip("/")
        self.api_key = api_key
        self.timeout = float(timeout)
        # Our own httpx client, so that close() releases its connections deterministically.
        self._httpx = httpx.Client(timeout=self.timeout, follow_redirects=True)
        # The SDK (about 1,800 modules, ~110 MB) is imported here, where Label Studio is called,
        # not when the app starts: a process that never talks to Label Studio never pays for it.
        from label_studio_sdk import LabelStudio

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
        """Run one call, translating its failures into workbench errors (see :func:`_translate`)."""
        from label_studio_sdk.core.api_error import ApiError

        try:
            return fn()
        except (ApiError, httpx.HTTPError, pydantic.ValidationError) as exc:
            raise _translate(exc, what, self.base_url) from exc

    def _raw(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one SDK ``with_raw_response`` call; return the server's JSON exactly as sent.

        The SDK's models mark every field as set, so dumping them adds dozens of null keys the
        server never sent; the raw body is what we want to store and compare.
        """
        resp = self._call(what, fn)
        raw = getattr(resp, "response", None)
        if isinstance(raw, httpx.Response):
            return _json(raw, what)
        return _plain(getattr(resp, "data", resp))

    def _http(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        """Send one request the SDK falls short on, on the SDK's own httpx client; return its JSON."""

        def send() -> httpx.Response:
            resp = self._httpx.request(
                method,
                f"{self.base_url}{path}",
                headers={"Authorization": f"Token {self.api_key}"},
                timeout=self.timeout,
                **kwargs,
            )
            resp.raise_for_status()
            return resp

        return _json(self._call(what, send), what)

    # ------------------------------------------------------------------ health

    def health(self) -> bool:
        """Tell whether Label Studio answers ``GET /health`` and accepts our token. Never raises."""
        # The SDK has no health call, and this must stay cheap and exception-free.
        try:
            timeout = min(self.timeout, 5.0)
            r = self._httpx.get(f"{self.base_url}/health", timeout=timeout)
            if r.status_code != 200:
                return False
            r = self._httpx.get(
                f"{self.base_url}/api/current-user/whoami",
                headers={"Authorization": f"Token {self.api_key}"},
                timeout=timeout,
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
                functools.partial(self._sdk.webhooks.update, hid, **settings, request_options=_WRITE),
            )
            hook = self._raw(
                f"get webhook {hid}",
                functools.partial(self._sdk.webhooks.with_raw_response.get, hid, request_options=_READ),
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
                project_id, request=cast(Any, tasks), return_task_ids=True, request_options=_WRITE
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
            task: Any
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
        pager: Any = self._call(
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

    def export_tasks(self, project_id: int, *, timeout: float | None = None) -> Iterator[dict]:
        """Read every task of a project, annotations embedded, in one export; yield them one by one.

        ``GET /api/projects/<id>/export?exportType=JSON&download_all_tasks=true``: one reply,
        about 3 times faster than paging through ``/api/tasks`` (the server serializes 1,000
        tasks per query instead of the data manager's per-page work). Tasks without annotations
        are included. Annotations carry ``completed_by``, ``task`` and ``updated_by`` as ids, as
        webhooks do; ``drafts`` are expanded, ``predictions`` are ids. The body goes to a
        temporary file (in memory up to a few MB, then on disk) and is parsed as a stream
        (ijson's C parser, numbers as float/int like ``json``), so memory does not grow with the
        project. Its own timeout, ``timeout`` or ``max(configured, 120 s)``, since it is one
        big reply. Never retried. May raise LabelStudioError (also for a body that is not a
        JSON list) or LabelStudioUnavailable before the first task is yielded; a body cut
        short raises LabelStudioError midway. Label Studio keeps a copy of every export under
        its data directory's ``export/`` (see docs/label-studio-notes.md).
        """
        import tempfile

        what = f"export the tasks of project {project_id}"
        limit = float(timeout) if timeout is not None else max(self.timeout, 120.0)
        body = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed below

        def download() -> None:
            with self._httpx.stream(
                "GET",
                f"{self.base_url}/api/projects/{project_id}/export",
                params={"exportType": "JSON", "download_all_tasks": "true"},
                headers={"Authorization": f"Token {self.api_key}"},
                timeout=limit,
            ) as resp:
                if resp.is_error:
                    resp.read()
                    resp.raise_for_status()
                for chunk in resp.iter_bytes(1 << 20):
                    body.write(chunk)

        try:
            self._call(what, download)
            body.seek(0)
            if body.read(64).lstrip()[:1] != b"[":
                raise LabelStudioError(
                    f"Label Studio gave a reply that is not a JSON list when asked to {what}"
                )
            body.seek(0)
        except BaseException:
            body.close()
            raise
        return self._parse_export(body, what)

    @staticmethod
    def _parse_export(body: Any, what: str) -> Iterator[dict]:
        import ijson

        try:
            for task in ijson.items(body, "item", use_float=True):
                if isinstance(task, dict):
                    yield task
        except ijson.JSONError as exc:
            raise LabelStudioError(f"Label Studio gave a broken reply when asked to {what}: {exc}") from exc
        finally:
            body.close()

    # ------------------------------------------------------------------ annotations

    def list_annotations(self, task_id: int) -> list[dict]:
        """List all annotations of a task. May raise LabelStudioError."""
        return self._raw(
            f"list annotations of task {task_id}",
            lambda: self._sdk.annotations.with_raw_response.list(task_id, request_options=_READ),
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
