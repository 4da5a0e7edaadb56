"""What writing bid rows costs, with and without SQLAlchemy: the floor under bulk entry's inserts.

`python -m bench.http.rows [--database-url URL] [--rows 1000] [--rounds 3]` creates the market's
tables (SQLite in a temporary folder by default; give a throwaway PostgreSQL database, since the
rows are rolled back but the tables stay) and inserts the same kind of rows `BulkEntry` writes
for resting bids, alternating two ways, in CPU time of this process:

- `core`: `Connection.execute(insert(bid), rows)`, as bulk entry does;
- `driver`: the rows' values turned into SQL parameters by the columns' own bind processors
  (JSON text, timestamps), then the driver's `executemany` through `exec_driver_sql`; the
  `prepare` figure is that first step alone.

The ratio driver / core is how much of the insert SQLAlchemy's per-row work adds
(docs/benchmarks.md, fifth session).
"""

import argparse
import json
import tempfile
import time
from typing import Any

from sqlalchemy import create_engine, insert
from sqlmodel import SQLModel

from market.db import make_engine, migrate
from market.models import Bid, new_id, utcnow


def _rows(count: int) -> list[dict[str, Any]]:
    constraints: dict[str, Any] = {
        "min_quality": 0,
        "min_k": None,
        "required_tags": [],
        "required_columns": [],
        "dataset_id": None,
        "min_term_days": None,
        "exclusive": False,
    }
    return [
        {
            "id": new_id(),
            "buyer_id": "buyer",
            "instrument": "research/mobility.traffic",
            "max_price_yen": 100 + n % 400,
            "quantity": 1,
            "filled": 0,
            "purpose": "research.academic",
            "time_in_force": "GTC",
            "status": "open",
            "status_reason": None,
            "created_at": utcnow(),
            "records_per_licence": 1,
            "constraints": dict(constraints),
        }
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rows", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='bench-rows-')}/rows.db"
    if url.startswith("sqlite"):
        # No foreign keys (no participants are seeded); the table and its indexes as migrated.
        engine = create_engine(url)
        SQLModel.metadata.create_all(engine)
    else:
        engine = make_engine(url)
        migrate(engine)
    table = Bid.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    keys = [column.key for column in table.columns]
    figures: dict[str, list[float]] = {"core": [], "driver": [], "prepare": []}
    with engine.connect() as connection:
        if not url.startswith("sqlite"):
            connection.exec_driver_sql("SET session_replication_role = replica")
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        order = list(compiled.positiontup or []) if dialect.positional else keys
        processors = [(key, table.c[key].type._cached_bind_processor(dialect)) for key in order]
        for _ in range(args.rounds):
            rows = _rows(args.rows)
            started = time.process_time()
            connection.execute(statement, rows)
            figures["core"].append(time.process_time() - started)
            rows = _rows(args.rows)
            started = time.process_time()
            values = [
                tuple(process(row[key]) if process else row[key] for key, process in processors)
                for row in rows
            ]
            parameters: list[Any] = (
                values if dialect.positional else [dict(zip(order, v, strict=True)) for v in values]
            )
            figures["prepare"].append(time.process_time() - started)
            connection.exec_driver_sql(str(compiled), parameters)
            figures["driver"].append(time.process_time() - started)
        connection.rollback()
    per_row = {name: round(min(spent) / args.rows * 1e6, 2) for name, spent in figures.items()}
    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "rows": args.rows,
                "microseconds_per_row_best": per_row,
                "driver_to_core": [
                    round(d / c, 2) for d, c in zip(figures["driver"], figures["core"], strict=True)
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
