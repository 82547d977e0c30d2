"""expiry indexes: the janitor deletes sessions and grants by when they ended

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:15:00.000000
"""

from __future__ import annotations

from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grants_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_grants_revoked_at"), ["revoked_at"], unique=False)
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_expires_at"))
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grants_revoked_at"))
        batch_op.drop_index(batch_op.f("ix_grants_expires_at"))
