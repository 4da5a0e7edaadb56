"""The public announcement page of an anonymized dataset (匿名加工情報の公表), in Japanese and English.

APPI art. 43(3) and 44 require the creator and the provider of 匿名加工情報 to publish the
categories of personal information it contains and the method of provision, and to state
explicitly to the recipient that the data is 匿名加工情報. Everything shown comes from the public
processing report; the confidential processing-method record is never read here.
"""

from html import escape
from typing import Any

from market.models import Dataset

PAGE = """<!doctype html>
<html lang="ja">
<head><meta charset="utf-8"><title>匿名加工情報の公表 / Public notice: {title}</title>
<style>
body {{ font-family: system-ui, "Hiragino Sans", "Noto Sans JP", sans-serif; max-width: 52rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.6; color: #1a1a1a; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
.statement {{ border-left: 4px solid #b00; padding: .5rem 1rem; background: #fff6f6; }}
</style></head>
<body>
<h1>匿名加工情報の公表<br><small>Public notice of anonymously processed information</small></h1>
<p><strong>{title}</strong> &mdash; dataset {dataset_id}, {rows} 件 / rows, 作成 / created {created}</p>
<div class="statement"><p>{statement_ja}</p><p lang="en">{statement_en}</p>
<ul>{prohibitions}</ul></div>
<h2>含まれる個人に関する情報の項目 / Categories of personal information</h2>
<table><tr><th>項目 / column</th><th>種類 / category</th><th>加工 / treatment</th></tr>
{categories}</table>
<h2>提供の方法 / Method of provision</h2><p>{provision}</p>
<h2>加工の基準 / Processing standards applied (APPI Enforcement Rules art. 34)</h2>
<ol>{steps}</ol>
<h2>安全性の測定値 / Measured privacy</h2>
<p>k = {k} (最小の同一属性グループの大きさ / smallest group of indistinguishable records),
最大再識別リスク / highest re-identification risk {risk}</p>
</body></html>
"""


def _items(values: list[Any]) -> str:
    return "".join(f"<li>{escape(str(v))}</li>" for v in values)


def render_announcement(dataset: Dataset) -> str:
    """Render the notice from the dataset's public processing report."""
    report = dataset.public_report or {}
    statement = report.get("statement", {})
    categories = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(c.get(k, '')))}</td>" for k in ("column", "category", "treatment")
        )
        + "</tr>"
        for c in report.get("categories", [])
    )
    steps = "".join(
        f"<li>{escape(s.get('title_ja', ''))} / {escape(s.get('title_en', ''))}: "
        f"{escape(str(s.get('action', '')))}</li>"
        for s in report.get("steps", [])
    )
    return PAGE.format(
        title=escape(dataset.title),
        dataset_id=escape(dataset.id),
        rows=dataset.row_count,
        created=dataset.created_at.date().isoformat(),
        statement_ja=escape(statement.get("ja", "")),
        statement_en=escape(statement.get("en", "")),
        prohibitions=_items(report.get("prohibitions", [])),
        categories=categories,
        provision=escape(str(report.get("provision_method", ""))),
        steps=steps,
        k=dataset.privacy_k,
        risk=escape(str(report.get("risk", {}).get("highest", ""))),
    )
