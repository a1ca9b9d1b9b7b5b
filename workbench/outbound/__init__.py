"""Outbound events for integrators: signed (Standard Webhooks), retried, paused when failing.

``verdict.published``, ``verdict.reopened`` and ``export.finished`` are written to an outbox in
the transaction of the change (events.py), sent after it commits by an RQ worker or inline
(delivery.py), to endpoints that admins register (endpoints.py). Importing this package
subscribes the outbox to the domain signals (workbench/signals.py).
"""

from workbench.outbound.events import EVENT_TYPES, connect

connect()

__all__ = ["EVENT_TYPES", "connect"]
