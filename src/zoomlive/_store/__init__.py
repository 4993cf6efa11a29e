"""Persistence: records, tables, migrations and the :class:`Store` over SQLite or PostgreSQL."""

from .records import PLANS, Account, App, Plan, Token, User, Webinar, WebinarStatus
from .sql import Store, Tx, normalize_url

__all__ = [
    "PLANS",
    "Account",
    "App",
    "Plan",
    "Store",
    "Token",
    "Tx",
    "User",
    "Webinar",
    "WebinarStatus",
    "normalize_url",
]
