"""personal data: PDS records, conditions, sign-in, requests, consent receipts, provision
records, delegations and data-ethics board cases

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conditionsversion",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("confirmed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("effective_at", market.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", market.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["confirmed_by"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "version"),
    )
    with op.batch_alter_table("conditionsversion", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conditionsversion_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "delegation",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("bank_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", market.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delegation_bank_id"), ["bank_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delegation_person_id"), ["person_id"], unique=False)

    op.create_table(
        "personaccount",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("guardian_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "personalrecord",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("personalrecord", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personalrecord_category"), ["category"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_personalrecord_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "personcredential",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "personsession",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("authenticated_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", market.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("personsession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personsession_person_id"), ["person_id"], unique=False)

    op.create_table(
        "provisionrequest",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("holder_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("price_per_record_yen", sa.BigInteger(), nullable=False),
        sa.Column("anonymized", sa.Boolean(), nullable=False),
        sa.Column("term_days", sa.Integer(), nullable=True),
        sa.Column("min_cohort", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", market.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["participant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provisionrequest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provisionrequest_holder_id"), ["holder_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provisionrequest_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provisionrequest_reference"), ["reference"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_provisionrequest_status"), ["status"], unique=False)

    op.create_table(
        "boardcase",
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("bank_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("member", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", market.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["provisionrequest.id"],
        ),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("boardcase", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_boardcase_bank_id"), ["bank_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_boardcase_status"), ["status"], unique=False)

    op.create_table(
        "consentreceipt",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("controller_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("conditions_version", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["controller_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["provisionrequest.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consentreceipt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consentreceipt_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consentreceipt_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consentreceipt_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "provisionrecord",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("side", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("book_owner_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person_ref", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("recipient_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("consent_receipt_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("record_ids", sa.JSON(), nullable=False),
        sa.Column("provided_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["book_owner_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["consent_receipt_id"],
            ["consentreceipt.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["provisionrequest.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provisionrecord", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provisionrecord_book_owner_id"), ["book_owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provisionrecord_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provisionrecord_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("provisionrecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisionrecord_request_id"))
        batch_op.drop_index(batch_op.f("ix_provisionrecord_person_id"))
        batch_op.drop_index(batch_op.f("ix_provisionrecord_book_owner_id"))

    op.drop_table("provisionrecord")
    with op.batch_alter_table("consentreceipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consentreceipt_request_id"))
        batch_op.drop_index(batch_op.f("ix_consentreceipt_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_consentreceipt_person_id"))

    op.drop_table("consentreceipt")
    with op.batch_alter_table("boardcase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_boardcase_status"))
        batch_op.drop_index(batch_op.f("ix_boardcase_bank_id"))

    op.drop_table("boardcase")
    with op.batch_alter_table("provisionrequest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisionrequest_status"))
        batch_op.drop_index(batch_op.f("ix_provisionrequest_reference"))
        batch_op.drop_index(batch_op.f("ix_provisionrequest_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_provisionrequest_holder_id"))

    op.drop_table("provisionrequest")
    with op.batch_alter_table("personsession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personsession_person_id"))

    op.drop_table("personsession")
    op.drop_table("personcredential")
    with op.batch_alter_table("personalrecord", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personalrecord_person_id"))
        batch_op.drop_index(batch_op.f("ix_personalrecord_category"))

    op.drop_table("personalrecord")
    op.drop_table("personaccount")
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_person_id"))
        batch_op.drop_index(batch_op.f("ix_delegation_bank_id"))

    op.drop_table("delegation")
    with op.batch_alter_table("conditionsversion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conditionsversion_person_id"))

    op.drop_table("conditionsversion")
