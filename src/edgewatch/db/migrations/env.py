"""Alembic environment: the URL comes from Edgewatch's settings unless the caller set one."""

from __future__ import annotations

from alembic import context

from edgewatch.config import get_settings
from edgewatch.db.engine import create_db_engine
from edgewatch.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url


def run_migrations() -> None:
    engine = create_db_engine(url, pool_size=1)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            compare_type=True,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
