"""Microsoft Dynamics 365 Business Central (API v2.0) as an accounting target.

* ``documents``: a hub journal entry as general journal lines, or a sales invoice with
  ``documents = true``, and the short document number Business Central is searched by;
* ``auth``: Microsoft Entra ID client credentials tokens;
* ``target``: find-then-create posting (the idempotency), error translation, ``from_options``.

No Business Central SDK is involved: API v2.0 is OData v4 JSON over HTTPS.
"""

from .target import BusinessCentralTarget, books_from, from_options

__all__ = ["BusinessCentralTarget", "books_from", "from_options"]
