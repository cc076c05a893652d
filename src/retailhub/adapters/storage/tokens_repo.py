"""API tokens: issued once, stored only as a hash, with a role and the stores they may see."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import api_tokens

ROLES = ("admin", "finance", "operations", "read_only")
TOKEN_PREFIX = "rh_"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    role: str
    stores: tuple[str, ...]  # () = every store

    def sees_store(self, store: str | None) -> bool:
        """Unscoped tokens see everything; scoped ones only their stores (and nothing unowned)."""
        return not self.stores or (store is not None and store in self.stores)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    conn: Connection, name: str, role: str, stores: tuple[str, ...], at: datetime
) -> str:
    """A new random token (shown once); only its hash is kept."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(api_tokens),
        {
            "token_hash": token_hash(token),
            "name": name,
            "role": role,
            "stores": list(stores),
            "created_at": at,
        },
    )
    return token


def lookup(conn: Connection, token: str, at: datetime | None = None) -> TokenInfo | None:
    """The live token's identity, or None (unknown or revoked); notes when it was last used."""
    row = conn.execute(
        select(api_tokens).where(
            api_tokens.c.token_hash == token_hash(token), api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    if at is not None:
        conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=at))
    return TokenInfo(int(row.id), row.name, row.role, tuple(row.stores or ()))


def revoke(conn: Connection, token_id: int, at: datetime) -> bool:
    result = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)


def list_tokens(conn: Connection) -> list[dict[str, object]]:
    return [
        {
            "id": r.id,
            "name": r.name,
            "role": r.role,
            "stores": r.stores,
            "created_at": r.created_at,
            "last_used_at": r.last_used_at,
            "revoked_at": r.revoked_at,
        }
        for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id))
    ]
