"""Domain events other parts of the workbench subscribe to (blinker signals, sent in-process).

Senders send inside the transaction that made the change, so a receiver that writes rows
(the outbound-event outbox, for one) writes them in the same transaction: both land or neither.

- ``claim_verified``: sender is the Claim, whenever a decision leaves it verified (accept,
  override, publish); keyword ``verdict``, ``actor``.
- ``verdict_published``: sender is the Claim; keyword ``verdict`` (the Verdict row), ``actor``.
- ``verdict_reopened``: sender is the Claim; keyword ``verdict`` (the reopened Verdict), ``actor``.
- ``export_finished``: sender is the manifest (dict as returned over the API); keyword ``actor``.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

claim_verified = _signals.signal("claim-verified")
verdict_published = _signals.signal("verdict-published")
verdict_reopened = _signals.signal("verdict-reopened")
export_finished = _signals.signal("export-finished")
