"""What the POS batch import needs to know of earlier batches: numbers and content seen."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.tables import inbox, inbox_payloads, register_sequences

RegisterKey = tuple[str, str]


def _advance(ins: Any) -> Any:
    stmt = ins(register_sequences)
    return stmt.on_conflict_do_update(
        index_elements=["store", "register"],
        set_={"last_seq": stmt.excluded.last_seq},
        where=register_sequences.c.last_seq < stmt.excluded.last_seq,
    )


@dataclass
class SqlPosFeedState:
    conn: Connection
    source: str = "pos"

    def last_seen(self, registers: Iterable[RegisterKey]) -> dict[RegisterKey, int]:
        wanted = set(registers)
        return {
            (r.store, r.register): int(r.last_seq)
            for r in self.conn.execute(select(register_sequences))
            if (r.store, r.register) in wanted
        }

    def fingerprints(self, event_ids: Iterable[str]) -> dict[tuple[str, str, int], str]:
        """sha256 of the stored bodies of those deliveries the hub already holds."""
        ids = list(event_ids)
        found: dict[tuple[str, str, int], str] = {}
        for i in range(0, len(ids), 500):
            rows = self.conn.execute(
                select(inbox.c.event_id, inbox_payloads.c.body)
                .join(inbox_payloads, inbox_payloads.c.inbox_id == inbox.c.id)
                .where(inbox.c.source == self.source, inbox.c.event_id.in_(ids[i : i + 500]))
            )
            for event_id, body in rows:
                store, register, seq = event_id.rsplit(":", 2)
                found[(store, register, int(seq))] = hashlib.sha256(body).hexdigest()
        return found

    def advance(self, last: Mapping[RegisterKey, int]) -> None:
        rows = [{"store": s, "register": r, "last_seq": n} for (s, r), n in last.items()]
        if rows:
            self.conn.execute(prebuilt(self.conn, "pos.advance", _advance), rows)
