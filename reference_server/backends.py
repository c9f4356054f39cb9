"""Which store a ``--db`` value opens: the one place that knows every backend.

Theory of operation: :mod:`reference_server.store` states the protocol and
its records; each backend (``sqlite_store``, ``pg_store``) implements it, and
this module picks one, so the protocol module never imports its own
implementations. PostgreSQL is imported only when asked for: it is an extra.
"""

from __future__ import annotations

from reference_server.store import Store


def open_store(db: str, *, durable: bool = False) -> Store:
    """The store for ``db``: a ``postgresql://`` URL selects PostgreSQL (needs the
    ``pg`` extra), anything else is an SQLite path or ``:memory:``."""
    if db.startswith(("postgresql://", "postgres://")):
        try:
            from reference_server.pg_store import PostgresStore
        except ImportError as exc:
            raise ImportError(f"the PostgreSQL store needs psycopg 3 and psycopg-pool"
                              f" (pip install 'syncbench[pg]'): {exc}") from None
        return PostgresStore(db, durable=durable)
    from reference_server.sqlite_store import SQLiteStore
    return SQLiteStore(db, durable=durable)
