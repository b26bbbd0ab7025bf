"""Users, preferences, guild settings, generations and ratings.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _created(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "preferences",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("instrument", sa.String(40), nullable=True),
        sa.Column("mood", sa.String(40), nullable=True),
        sa.Column("tempo_min", sa.Integer(), nullable=True),
        sa.Column("tempo_max", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(3), nullable=True),
        sa.Column("mode", sa.String(5), nullable=True),
        sa.Column("drums", sa.Boolean(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        _created("updated_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_preferences_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_preferences")),
    )
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("allowed_channel_ids", sa.JSON(), nullable=False),
        sa.Column("free_text", sa.Boolean(), nullable=False),
        sa.Column("cooldown_s", sa.Integer(), nullable=True),
        sa.Column("max_bars", sa.Integer(), nullable=True),
        sa.Column("jam_channel_id", sa.BigInteger(), nullable=True),
        _created("updated_at"),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_settings")),
    )
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("resolved", sa.JSON(), nullable=False),
        sa.Column("latents", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_generations_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["generations.id"],
            name=op.f("fk_generations_parent_id_generations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generations")),
    )
    op.create_index(op.f("ix_generations_user_id"), "generations", ["user_id"])
    op.create_index(op.f("ix_generations_message_id"), "generations", ["message_id"])
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        _created("rated_at"),
        sa.CheckConstraint("value IN (-1, 1)", name=op.f("ck_ratings_value")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ratings_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name=op.f("fk_ratings_generation_id_generations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ratings")),
        sa.UniqueConstraint("user_id", "generation_id", name=op.f("uq_ratings_user_id")),
    )
    op.create_index(op.f("ix_ratings_generation_id"), "ratings", ["generation_id"])


def downgrade() -> None:
    op.drop_table("ratings")
    op.drop_table("generations")
    op.drop_table("guild_settings")
    op.drop_table("preferences")
    op.drop_table("users")
