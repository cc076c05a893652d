"""Store POS batch feed connector: the record format's checks and the inbound mapper.

The feed (``docs/pos-feed.md``) is ours, not a vendor's: registers that were offline upload
their day later as a file, which ``retailhub.adapters.files.pos_feed`` reads into records.

Public surface::

    PosFeedSource(card_gateway="card", accept_unlinked_returns=True, channel="pos")
        .name / .verify / .event_id / .topic / .translate(topic, body)   a WebhookSource
    parse_record(data) -> record          plain data → checked, normalised record
    canonical_body(record) -> bytes       what the inbox stores (sorted keys, defaults left out)
    decode_body(body) -> record           stored bytes → record, checked again
    record_type(record) -> str            "sale", "return", …
    RECORD_TYPES

Exceptions::

    RecordError (ValueError)    a record breaks the format; ``.path`` is the JSON path

``PosFeedSource.translate`` never raises on data: a bad body is an ``invalid_payload`` problem,
an unlinked return refused by policy an ``unlinked_return`` problem.
"""

from retailhub.adapters.connectors.pos.records import (
    RecordError,
    canonical_body,
    decode_body,
    parse_record,
)
from retailhub.adapters.connectors.pos.shapes import RECORD_TYPES, record_type
from retailhub.adapters.connectors.pos.translate import EXCHANGE_GATEWAY, SYSTEM, PosFeedSource

__all__ = [
    "EXCHANGE_GATEWAY",
    "RECORD_TYPES",
    "SYSTEM",
    "PosFeedSource",
    "RecordError",
    "canonical_body",
    "decode_body",
    "parse_record",
    "record_type",
]
