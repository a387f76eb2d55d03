"""observability: the request id that caused each webhook event

Revision ID: observability_0001
Revises: dicom_0001
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "observability_0001"
down_revision = "dicom_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable ADD COLUMN: no table rewrite on PostgreSQL, no batch copy on SQLite.
    op.add_column("webhook_events", sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_column("request_id")
