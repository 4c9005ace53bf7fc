"""The append-only, double-entry, hash-chained ledger on SQLAlchemy Core (SQLite default, PostgreSQL)."""
