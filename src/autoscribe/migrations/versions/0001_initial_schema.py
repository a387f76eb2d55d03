"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 00:14:03.474352
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import autoscribe.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinics",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("study_scope", sa.String(length=10), nullable=False),
        sa.Column("user_access", sa.String(length=10), nullable=False),
        sa.Column("express_access", sa.String(length=10), nullable=False),
        sa.Column("study_webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("report_webhook_url", sa.String(length=2048), nullable=True),
        sa.Column("webhook_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("is_viewer_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("last_used_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_api_keys_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_clinic_id", ["clinic_id"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("clinic_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_audit_events_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_clinic_id_id", ["clinic_id", "id"], unique=False)

    op.create_table(
        "express_customers",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_by_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_express_customers_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_express_customers")),
    )
    with op.batch_alter_table("express_customers", schema=None) as batch_op:
        batch_op.create_index("ix_express_customers_clinic_id_id", ["clinic_id", "id"], unique=False)

    op.create_table(
        "users",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("suffix1", sa.String(length=50), nullable=True),
        sa.Column("suffix2", sa.String(length=50), nullable=True),
        sa.Column("phone_number", sa.String(length=15), nullable=True),
        sa.Column("npi_number", sa.String(length=10), nullable=True),
        sa.Column("clinic_role", sa.String(length=60), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("can_create_reports", sa.Boolean(), nullable=False),
        sa.Column("can_manage_studies", sa.Boolean(), nullable=False),
        sa.Column("has_dashboard_access", sa.Boolean(), nullable=False),
        sa.Column("invited_source", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("last_login_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_users_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_clinic_id_id", ["clinic_id", "id"], unique=False)
    # Email is unique per clinic, case-insensitively (autogenerate cannot see expression indexes).
    op.create_index("uq_users_clinic_email", "users", ["clinic_id", sa.text("lower(email)")], unique=True)

    op.create_table(
        "express_customer_users",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["express_customers.id"],
            name=op.f("fk_express_customer_users_customer_id_express_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_express_customer_users_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "user_id", name=op.f("pk_express_customer_users")),
    )
    with op.batch_alter_table("express_customer_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_express_customer_users_user_id"), ["user_id"], unique=False)

    op.create_table(
        "studies",
        sa.Column("clinic_id", sa.Uuid(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_description", sa.String(length=1000), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("study_report_status", sa.String(length=20), nullable=False),
        sa.Column("study_type", sa.String(length=10), nullable=False),
        sa.Column("is_cancelled", sa.Boolean(), nullable=False),
        sa.Column("cancelled_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", autoscribe.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_critical", sa.Boolean(), nullable=True),
        sa.Column("assigned_to_user_id", sa.Uuid(), nullable=True),
        sa.Column("express_customer_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "report_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("modality", sa.String(length=100), nullable=True),
        sa.Column("clinical_history", sa.Text(), nullable=True),
        sa.Column("clinical_indication", sa.Text(), nullable=True),
        sa.Column("technologist_technique", sa.Text(), nullable=True),
        sa.Column(
            "technologist_notes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "prior_reports",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("external_patient_id", sa.String(length=256), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", autoscribe.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_to_user_id"], ["users.id"], name=op.f("fk_studies_assigned_to_user_id_users")
        ),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_studies_clinic_id_clinics")),
        sa.ForeignKeyConstraint(
            ["created_by_api_key_id"], ["api_keys.id"], name=op.f("fk_studies_created_by_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"], name=op.f("fk_studies_created_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["express_customer_id"],
            ["express_customers.id"],
            name=op.f("fk_studies_express_customer_id_express_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_studies_clinic_apikey_id", ["clinic_id", "created_by_api_key_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_studies_clinic_assignee_id", ["clinic_id", "assigned_to_user_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_studies_clinic_customer_id", ["clinic_id", "express_customer_id", "id"], unique=False
        )
        batch_op.create_index("ix_studies_clinic_id_id", ["clinic_id", "id"], unique=False)
        batch_op.create_index("ix_studies_clinic_patient", ["clinic_id", "external_patient_id"], unique=False)
        batch_op.create_index(
            "ix_studies_clinic_status_id", ["clinic_id", "study_report_status", "id"], unique=False
        )
        batch_op.create_index(
            "uq_studies_clinic_uid_live",
            ["clinic_id", "study_instance_uid"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("studies", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_studies_clinic_uid_live",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_studies_clinic_status_id")
        batch_op.drop_index("ix_studies_clinic_patient")
        batch_op.drop_index("ix_studies_clinic_id_id")
        batch_op.drop_index("ix_studies_clinic_customer_id")
        batch_op.drop_index("ix_studies_clinic_assignee_id")
        batch_op.drop_index("ix_studies_clinic_apikey_id")

    op.drop_table("studies")
    with op.batch_alter_table("express_customer_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_express_customer_users_user_id"))

    op.drop_table("express_customer_users")
    op.drop_index("uq_users_clinic_email", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_clinic_id_id")

    op.drop_table("users")
    with op.batch_alter_table("express_customers", schema=None) as batch_op:
        batch_op.drop_index("ix_express_customers_clinic_id_id")

    op.drop_table("express_customers")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_clinic_id_id")

    op.drop_table("audit_events")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_clinic_id")

    op.drop_table("api_keys")
    op.drop_table("clinics")
