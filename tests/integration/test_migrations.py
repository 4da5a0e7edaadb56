"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL;
the test fixtures hand out databases at the newest migration, or empty ones."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import market.models  # noqa: F401  (registers every table)
from market import db
from market.catalog.tables import modelled


def test_migrations_and_models_agree(blank_database_url: str) -> None:
    engine = db.make_engine(blank_database_url)
    try:
        with engine.connect() as connection:
            assert sa.inspect(connection).get_table_names() == []
        db.migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": modelled}
            )
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_test_database_starts_at_the_newest_migration(database_url: str) -> None:
    head = ScriptDirectory.from_config(db.alembic_config(database_url)).get_current_head()
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    assert head is not None and revision == head
