"""Import every model so that SQLAlchemy's metadata (and Alembic) sees all tables."""

from autoscribe.archive.models import ExternalReport
from autoscribe.audit.models import AuditEvent
from autoscribe.auth.models import ApiKey, LoginAttempt, PasswordReset, WebSession
from autoscribe.clinics.models import Clinic
from autoscribe.context.models import ClinicalContext
from autoscribe.db import Base
from autoscribe.dicom.models import DicomInstance
from autoscribe.dictation.models import Dictation, ScribeMacro, ScribeTemplate
from autoscribe.express.models import ExpressCustomer, ExpressCustomerUser
from autoscribe.queue.models import Task
from autoscribe.references.models import ClinicalReference
from autoscribe.reports.models import Report, ReportRevision
from autoscribe.studies.models import Study
from autoscribe.users.models import Invitation, User
from autoscribe.webhooks.models import DisabledEndpoint, WebhookAttempt, WebhookEvent
from autoscribe.workspace.models import AccessLink

__all__ = [
    "AccessLink",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Clinic",
    "ClinicalContext",
    "ClinicalReference",
    "DicomInstance",
    "Dictation",
    "DisabledEndpoint",
    "ExpressCustomer",
    "ExpressCustomerUser",
    "ExternalReport",
    "Invitation",
    "LoginAttempt",
    "PasswordReset",
    "Report",
    "ReportRevision",
    "ScribeMacro",
    "ScribeTemplate",
    "Study",
    "Task",
    "User",
    "WebSession",
    "WebhookAttempt",
    "WebhookEvent",
]
