"""grant delegation: the grant a token-exchange grant was delegated from

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_grant_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_grants_parent_grant_id"), ["parent_grant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_parent_grant_id"))
        batch_op.drop_column("parent_grant_id")
