"""Keep each server's voice playback volume (/volume), in percent: 100 for every existing server; index
generations by server, for /play's suggestions (a server's pieces, newest first).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("volume", sa.Integer(), nullable=False, server_default="100"))
    op.create_index(op.f("ix_generations_guild_id"), "generations", ["guild_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_generations_guild_id"), table_name="generations")
    with op.batch_alter_table("guild_settings") as batch:
        batch.drop_column("volume")
