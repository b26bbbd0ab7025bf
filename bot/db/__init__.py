"""The bot's storage: SQLAlchemy models, the async session factory, migrations and a small repository API."""
