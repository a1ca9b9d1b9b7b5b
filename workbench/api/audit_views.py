"""The audit chain, checked end to end."""

from __future__ import annotations

from flask.views import MethodView

from workbench import audit
from workbench.api.framework import Blueprint
from workbench.auth import require_role
from workbench.schemas import AuditReportSchema

blp = Blueprint("audit", __name__, description="The audit chain: every change, hash-linked.")


@blp.route("/audit/verify")
class AuditVerify(MethodView):
    @require_role("admin")
    @blp.response(200, AuditReportSchema, description="The chain is intact")
    @blp.alt_response(409, schema=AuditReportSchema, description="A link is broken: the report names it")
    def get(self):
        """Walk the whole chain and name the first broken link (200 when intact, 409 when not)."""
        report = audit.verify()
        return report, 200 if report.ok else 409
