"""The Label Studio calls only the tests (and benchmarks) make, on top of the product's client.

:class:`LabelStudioTestClient` is :class:`~workbench.labelstudio.client.LabelStudioClient` plus
what the workbench itself never calls: creating users and annotations as Label Studio's own UI
would, deleting projects, taking a task from the label stream. Same HTTP stack, same errors.
"""

from __future__ import annotations

from typing import Any

from workbench.errors import LabelStudioError, LabelStudioUnavailable
from workbench.labelstudio.client import _READ, _WRITE, LabelStudioClient

__all__ = ["LabelStudioTestClient"]


class LabelStudioTestClient(LabelStudioClient):
    """The product's client and the calls only tests make."""

    # ------------------------------------------------------------------ projects

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

    # ------------------------------------------------------------------ annotations

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
