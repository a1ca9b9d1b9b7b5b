"""The audit chain, checked end to end."""

from __future__ import annotations

from workbench import audit
from workbench.api import bp
from workbench.auth import require_role


@bp.get("/audit/verify")
@require_role("admin")
def audit_verify():
    """Walk the whole chain and name the first broken link (200 when intact, 409 when not)."""
    report = audit.verify()
    return report.to_dict(), 200 if report.ok else 409
