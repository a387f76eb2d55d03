"""studies: partial list indexes (live studies only) for keyset pagination

The planner prefers an index whose predicate matches the query's `deleted_at IS NULL`: with the
full indexes, PostgreSQL without statistics (a fresh or freshly grown database) picked the
partial UID index and sorted a whole clinic for every list page.

Revision ID: foundation_0001
Revises: scribe_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import autoscribe.db  # noqa: F401  (migrations import the column types they may need)

revision = "foundation_0001"
down_revision = "scribe_0001"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
# old index name, new index name, columns
INDEXES = (
    ("ix_studies_clinic_id_id", "ix_studies_clinic_live_id", ["clinic_id", "id"]),
    (
        "ix_studies_clinic_status_id",
        "ix_studies_clinic_status_live_id",
        ["clinic_id", "study_report_status", "id"],
    ),
    (
        "ix_studies_clinic_assignee_id",
        "ix_studies_clinic_assignee_live_id",
        ["clinic_id", "assigned_to_user_id", "id"],
    ),
    (
        "ix_studies_clinic_customer_id",
        "ix_studies_clinic_customer_live_id",
        ["clinic_id", "express_customer_id", "id"],
    ),
    (
        "ix_studies_clinic_apikey_id",
        "ix_studies_clinic_apikey_live_id",
        ["clinic_id", "created_by_api_key_id", "id"],
    ),
)


def upgrade() -> None:
    with op.batch_alter_table("studies", schema=None) as batch_op:
        for old, new, columns in INDEXES:
            batch_op.drop_index(old)
            batch_op.create_index(new, columns, unique=False, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    with op.batch_alter_table("studies", schema=None) as batch_op:
        for old, new, columns in INDEXES:
            batch_op.drop_index(new, sqlite_where=LIVE, postgresql_where=LIVE)
            batch_op.create_index(old, columns, unique=False)
