"""settlement: ledger transaction headers, refunds, tax and fee columns, invoice particulars

Revision ID: 0009
Revises: 0007
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market.models
from market.settlement.ledger import Posting, digest

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_transaction",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("reference_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ledger_transaction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_transaction_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_transaction_reference_id"), ["reference_id"], unique=False
        )
    op.create_table(
        "invoice_refund",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("operator_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount_yen", sa.BigInteger(), nullable=False),
        sa.Column("net_yen", sa.BigInteger(), nullable=False),
        sa.Column("tax_yen", sa.BigInteger(), nullable=False),
        sa.Column("fee_yen", sa.BigInteger(), nullable=False),
        sa.Column("fee_tax_yen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("transaction_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("particulars", sa.JSON(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.ForeignKeyConstraint(["operator_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("invoice_refund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_refund_invoice_id"), ["invoice_id"])
    with op.batch_alter_table("instrument", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee_bps", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("fee_minimum_yen", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("price_includes_tax", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taxable_business", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "invoice_registration_number",
                sqlmodel.sql.sqltypes.AutoString(length=14),
                nullable=True,
            )
        )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("seller_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        for name in ("net_yen", "tax_yen", "fee_yen", "fee_tax_yen", "refunded_yen"):
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )
        batch_op.add_column(
            sa.Column("tax_rate_percent", sa.Integer(), nullable=False, server_default="0")
        )
        for name in ("price_includes_tax", "qualified"):
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )
        batch_op.add_column(
            sa.Column("due_at", market.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("particulars", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.create_index(batch_op.f("ix_invoice_seller_id"), ["seller_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_invoice_seller_id_participant", "participant", ["seller_id"], ["id"]
        )
    _backfill()


def _backfill() -> None:
    """Invoices issued before this revision: seller, net amount and fee from their trade's
    postings (no tax was charged then); a header for every transaction already posted."""
    op.execute(
        "UPDATE invoice SET seller_id = (SELECT trade.seller_id FROM trade "
        "WHERE trade.id = invoice.trade_id), net_yen = amount_yen"
    )
    op.execute(
        "UPDATE invoice SET fee_yen = COALESCE((SELECT SUM(e.credit_yen) FROM ledgerentry e "
        "WHERE e.account = 'revenue:market_fee' AND e.memo = 'trade ' || invoice.trade_id), 0)"
    )
    connection = op.get_bind()
    invoice_of_trade = dict(connection.execute(sa.text("SELECT trade_id, id FROM invoice")).all())
    lines: dict[str, list[Posting]] = defaultdict(list)
    memos: dict[str, str] = {}
    rows = connection.execute(
        sa.text("SELECT transaction_id, account, debit_yen, credit_yen, memo FROM ledgerentry")
    )
    for transaction_id, account, debit, credit, memo in rows:
        lines[transaction_id].append(Posting(account, int(debit), int(credit)))
        memos[transaction_id] = memo
    headers = sa.table(
        "ledger_transaction",
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("reference_id", sa.String),
        sa.column("digest", sa.String),
        sa.column("created_at", market.models.UTCDateTime(timezone=True)),
    )
    now = market.models.utcnow()
    records = []
    for transaction_id, postings in lines.items():
        kind, reference = _kind_of(memos[transaction_id], postings, invoice_of_trade)
        records.append(
            {
                "id": transaction_id,
                "kind": kind,
                "reference_id": reference,
                "digest": digest(
                    transaction_id=transaction_id, kind=kind, reference_id=reference, lines=postings
                ),
                "created_at": now,
            }
        )
    if records:
        op.bulk_insert(headers, records)


def _kind_of(
    memo: str, postings: list[Posting], invoice_of_trade: dict[str, str]
) -> tuple[str, str | None]:
    """What an older transaction was for, read from the memo the code of its time wrote."""
    words = memo.split()
    if len(words) == 2 and words[0] == "trade":
        return "invoice.issued", invoice_of_trade.get(words[1])
    if memo.startswith("payment of invoice "):
        return "invoice.paid", words[-1]
    if memo.endswith(" paid from deposit") and words[0] == "invoice":
        return "invoice.paid_from_deposit", words[1]
    if memo.startswith("deposit "):
        accounts = [p.account for p in postings if p.account.startswith("deposit:buyer:")]
        return "deposit.recorded", accounts[0].rsplit(":", 1)[-1] if accounts else None
    return "adjustment", None


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_constraint("fk_invoice_seller_id_participant", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_invoice_seller_id"))
        for name in (
            "particulars",
            "due_at",
            "qualified",
            "price_includes_tax",
            "tax_rate_percent",
            "refunded_yen",
            "fee_tax_yen",
            "fee_yen",
            "tax_yen",
            "net_yen",
            "seller_id",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("invoice_registration_number")
        batch_op.drop_column("taxable_business")
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("price_includes_tax")
    with op.batch_alter_table("instrument", schema=None) as batch_op:
        batch_op.drop_column("fee_minimum_yen")
        batch_op.drop_column("fee_bps")
    with op.batch_alter_table("invoice_refund", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_refund_invoice_id"))
    op.drop_table("invoice_refund")
    with op.batch_alter_table("ledger_transaction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transaction_reference_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_transaction_kind"))
    op.drop_table("ledger_transaction")
