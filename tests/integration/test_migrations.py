"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import market.models  # noqa: F401  (registers every table)
from market import db
from market.catalog.tables import modelled
from market.settings import Settings


def test_migrations_and_models_agree(settings: Settings) -> None:
    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": modelled}
            )
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
