"""NetSuite (SuiteTalk REST web services, record/v1) as an accounting target.

* ``records``: a hub journal entry as ``journalEntry`` records, or ``cashSale`` / ``cashRefund``
  with ``documents = true``;
* ``auth``: OAuth 2.0 client credentials (M2M) tokens from a signed JWT assertion;
* ``target``: the upsert by external id (the idempotency), error translation, ``from_options``.

No NetSuite SDK is involved: the record service is plain JSON over HTTPS.
"""

from .target import NetSuiteTarget, books_from, from_options

__all__ = ["NetSuiteTarget", "books_from", "from_options"]
