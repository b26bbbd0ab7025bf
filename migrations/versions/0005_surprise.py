"""How often a person's pieces try something outside their taste (/prefs surprise), in percent.

NULL keeps the default (`engine.schemas.SURPRISE`), so rows from before mean what they did.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.add_column(sa.Column("surprise", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("preferences") as batch:
        batch.drop_column("surprise")
