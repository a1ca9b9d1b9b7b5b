"""The nouns of the workbench (see DESIGN.md, "Data model")."""

from workbench.models.annotation import Annotation, WebhookEvent
from workbench.models.article import Article
from workbench.models.audit import AuditEvent, AuditHead
from workbench.models.claim import Claim, ClaimEmbedding, ClaimMatch, ClaimStatus, LabelStudioLink
from workbench.models.export_manifest import ExportManifest
from workbench.models.job_lock import JobLock
from workbench.models.outbound import OutboundAttempt, OutboundDelivery, OutboundEndpoint, OutboundEvent
from workbench.models.user import ROLES, LabelStudioUser, PasswordLink, SignInAttempt, User
from workbench.models.verdict import Verdict

__all__ = [
    "ROLES",
    "Annotation",
    "Article",
    "AuditEvent",
    "AuditHead",
    "Claim",
    "ClaimEmbedding",
    "ClaimMatch",
    "ClaimStatus",
    "ExportManifest",
    "JobLock",
    "LabelStudioLink",
    "LabelStudioUser",
    "OutboundAttempt",
    "OutboundDelivery",
    "OutboundEndpoint",
    "OutboundEvent",
    "PasswordLink",
    "SignInAttempt",
    "User",
    "Verdict",
    "WebhookEvent",
]
