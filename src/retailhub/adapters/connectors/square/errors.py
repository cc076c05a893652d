"""The Square connector's exception tree, sorted by how the caller recovers::

    PayloadError (ValueError)   the body or fetched order cannot be mapped; park it on the queue
      ├── UnknownTopic          an event type this connector does not handle; fix the subscription
      └── UnlinkedReturn        a return without its original sale; store ops decide what it was

API failures are the connector kit's own tree (``RetriableError`` / ``FatalError``);
``SquareWebhooks.translate`` turns every one of these into a ``Problem``.
"""


class PayloadError(ValueError):
    """The payload cannot be mapped: not JSON, a missing or invalid field, or an impossibility."""


class UnknownTopic(PayloadError):
    """An event type this connector does not handle."""


class UnlinkedReturn(PayloadError):
    """A return order whose ``returns[]`` entry names no ``source_order_id``."""
