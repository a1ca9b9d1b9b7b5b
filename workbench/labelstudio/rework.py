"""Rework: send a claim's task back to Label Studio's annotators for one more annotation."""

from __future__ import annotations

from workbench.db import release_for_network
from workbench.errors import WorkbenchError
from workbench.labelstudio.bootstrap import own_client
from workbench.labelstudio.client import LabelStudioClient
from workbench.models import Claim


@own_client
def request_rework(client: LabelStudioClient, *, claim: Claim) -> None:
    """Ask Label Studio to serve the claim's task to annotators again (one more annotation).

    Non-destructive: earlier annotations stay in Label Studio and in the workbench.
    May raise LabelStudioUnavailable or LabelStudioError; the caller then stores nothing.
    """
    if claim.link is None:
        raise WorkbenchError(
            f"claim {claim.id} was never pushed to Label Studio: nothing to send back", status=409
        )
    task_id = claim.link.task_id
    release_for_network()  # nothing is written yet; hold no lock while Label Studio answers
    task = client.get_task(task_id)
    # Label Studio then serves the task to annotators who have not annotated it yet; the
    # earlier annotators can still open it and revise theirs (docs/label-studio-notes.md).
    client.reopen_task(task_id, overlap=int(task.get("total_annotations") or 0) + 1)
