"""Alembic environment: runs migrations on a connection handed over by :mod:`.migrations`.

Warden drives Alembic programmatically (``warden db upgrade``, ``warden serve``), passing a
synchronous connection taken from its async engine in ``config.attributes["connection"]``;
there is no ``alembic.ini`` to find at run time, so an installed package migrates itself.
"""

from __future__ import annotations

from alembic import context

from warden.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `warden db`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
