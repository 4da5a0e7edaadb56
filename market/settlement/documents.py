"""Invoices as HTML a buyer can keep: 適格請求書 and 適格返還請求書, in Japanese and English.

What a document says comes from the invoice as issued (its `particulars` and amounts), so a
document rendered later says the same. Every value is HTML-escaped.
"""

from datetime import datetime
from html import escape
from typing import Any

from market.models import Invoice
from market.settlement.invoices import is_overdue
from market.settlement.statements import JST
from market.settlement.tables import InvoiceRefund

NOT_QUALIFIED = (
    "本書は適格請求書ではありません（売手が適格請求書発行事業者でないため）。"
    " / This is not a qualified invoice: the seller is not a registered issuer."
)
NOT_QUALIFIED_RETURN = (
    "本書は適格返還請求書ではありません。 / This is not a qualified return invoice."
)
INTERMEDIARY = (
    "媒介者交付特例により、市場が自己の名称及び登録番号で交付します。売手には写しを交付します。"
    " / Issued by the market in its own name and number under the intermediary rule"
    " (媒介者交付特例); the seller receives a copy."
)
ROUNDING = "消費税額は税率ごとに1請求書につき1回、1円未満切捨て。 / Tax rounded down once per rate."

STYLE = (
    "body{font-family:sans-serif;max-width:48rem;margin:2rem auto;color:#111}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.3rem .5rem;"
    "text-align:left}td.n{text-align:right}.note{font-size:.9rem;color:#333}"
)


def _yen(amount: int) -> str:
    return f"¥{amount:,}"


def _date(moment: datetime | str | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(JST).strftime("%Y-%m-%d (JST)")


def _rows(rows: list[tuple[str, Any]]) -> str:
    return "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(str(value))}</td></tr>" for label, value in rows
    )


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _rate_label(rate: int) -> str:
    return f"{rate}%対象 / {rate}% rate" if rate else "不課税・免税 / no consumption tax"


def render_invoice(invoice: Invoice, *, seller_copy: bool, now: datetime) -> str:
    """The invoice as a standalone HTML page (the seller's copy says so)."""
    p = invoice.particulars
    title = "適格請求書 / Qualified invoice" if invoice.qualified else "請求書 / Invoice"
    if seller_copy:
        title += "（写し / seller's copy）"
    basis = "税込 / tax included" if invoice.price_includes_tax else "税抜 / tax excluded"
    header = _rows(
        [
            ("請求書番号 / Invoice no.", invoice.id),
            ("発行者 / Issuer", p.get("issuer_name", "")),
            ("登録番号 / Registration no.", p.get("issuer_registration_number") or "—"),
            ("売手 / Seller", p.get("seller_name", "")),
            (
                "売手の登録番号 / Seller's registration no.",
                p.get("seller_registration_number") or "—",
            ),
            ("宛先 / Recipient", f"{p.get('recipient_name', '')} 御中"),
            ("取引年月日 / Transaction date", _date(p.get("transaction_at"))),
            ("発行日 / Issued", _date(invoice.issued_at)),
            ("支払期限 / Due", _date(invoice.due_at)),
            (
                "状態 / Status",
                invoice.status + (" (期限超過 / overdue)" if is_overdue(invoice, now) else ""),
            ),
        ]
    )
    item = (
        "<table><tr><th>品目 / Item</th><th>数量 / Qty</th><th>単価 / Unit price</th>"
        "<th>金額 / Amount</th></tr>"
        f"<tr><td>{escape(str(p.get('item', '')))}</td><td class=n>{escape(str(p.get('quantity', '')))}</td>"
        f"<td class=n>{escape(_yen(int(p.get('unit_price_yen', 0))))} ({escape(basis)})</td>"
        f"<td class=n>{escape(_yen(invoice.net_yen if not invoice.price_includes_tax else invoice.amount_yen))}</td></tr></table>"
    )
    totals = _rows(
        [
            (f"{_rate_label(invoice.tax_rate_percent)} 税抜 / net", _yen(invoice.net_yen)),
            (f"消費税 / Consumption tax ({invoice.tax_rate_percent}%)", _yen(invoice.tax_yen)),
            ("合計（税込） / Total (tax included)", _yen(invoice.amount_yen)),
        ]
        + ([("返金済 / Refunded", _yen(invoice.refunded_yen))] if invoice.refunded_yen else [])
    )
    copy_lines = ""
    if seller_copy:
        copy_lines = (
            "<h2>市場手数料 / Market fee</h2><table>"
            + _rows(
                [
                    ("手数料（税抜） / Fee (net)", _yen(invoice.fee_yen)),
                    ("手数料の消費税 / Tax on the fee (10%)", _yen(invoice.fee_tax_yen)),
                    (
                        "お受取額 / Due to you",
                        _yen(invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen),
                    ),
                ]
            )
            + "</table>"
        )
    notes = [ROUNDING, INTERMEDIARY if invoice.qualified else NOT_QUALIFIED]
    body = (
        f"<h1>{escape(title)}</h1><table>{header}</table><h2>明細 / Items</h2>{item}"
        f"<h2>税率別内訳 / By tax rate</h2><table>{totals}</table>{copy_lines}"
        + "".join(f"<p class=note>{escape(n)}</p>" for n in notes)
    )
    return _page(title, body)


def render_return_invoice(refund: InvoiceRefund, invoice: Invoice) -> str:
    """The return invoice (適格返還請求書) of a refund, as a standalone HTML page."""
    p = refund.particulars
    title = (
        "適格返還請求書 / Qualified return invoice"
        if invoice.qualified
        else ("返還請求書 / Return invoice")
    )
    rows = _rows(
        [
            ("返還番号 / Refund no.", refund.id),
            ("元の請求書 / Original invoice", invoice.id),
            ("発行者 / Issuer", p.get("issuer_name", "")),
            ("登録番号 / Registration no.", p.get("issuer_registration_number") or "—"),
            ("売手 / Seller", p.get("seller_name", "")),
            ("宛先 / Recipient", f"{p.get('recipient_name', '')} 御中"),
            ("返還年月日 / Refund date", _date(refund.created_at)),
            ("元の取引年月日 / Original transaction date", _date(p.get("transaction_at"))),
            ("品目 / Item", p.get("item", "")),
            (
                f"{_rate_label(invoice.tax_rate_percent)} 返還額（税込） / refunded (tax included)",
                _yen(refund.amount_yen),
            ),
            (
                f"返還に係る消費税 / Consumption tax refunded ({invoice.tax_rate_percent}%)",
                _yen(refund.tax_yen),
            ),
            ("理由 / Reason", refund.reason),
        ]
    )
    notes = [ROUNDING, INTERMEDIARY if invoice.qualified else NOT_QUALIFIED_RETURN]
    body = f"<h1>{escape(title)}</h1><table>{rows}</table>" + "".join(
        f"<p class=note>{escape(n)}</p>" for n in notes
    )
    return _page(title, body)
