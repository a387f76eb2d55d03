"""audit: audit_events.patient_key and the audit log's filter indexes (patient, target, actor)

Revision ID: audit_0001
Revises: queue_0001
Create Date: 2026-12-05 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import autoscribe.db  # noqa: F401  (the convention: migrations import it for the shared column types)

revision = "audit_0001"
down_revision = "queue_0001"
branch_labels = None
depends_on = None

HAS_PATIENT = sa.text("patient_key IS NOT NULL")


def upgrade() -> None:
    # A nullable column: a plain ADD COLUMN on both databases, existing rows untouched.
    op.add_column("audit_events", sa.Column("patient_key", sa.String(length=256), nullable=True))
    op.create_index(
        "ix_audit_events_clinic_patient_id",
        "audit_events",
        ["clinic_id", "patient_key", "id"],
        sqlite_where=HAS_PATIENT,
        postgresql_where=HAS_PATIENT,
    )
    op.create_index("ix_audit_events_clinic_target_id", "audit_events", ["clinic_id", "target_id", "id"])
    op.create_index("ix_audit_events_clinic_actor_id", "audit_events", ["clinic_id", "actor_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_clinic_actor_id", table_name="audit_events")
    op.drop_index("ix_audit_events_clinic_target_id", table_name="audit_events")
    op.drop_index("ix_audit_events_clinic_patient_id", table_name="audit_events")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("patient_key")
