"""The Shopify connector's exception tree, sorted by how the caller recovers::

    PayloadError (ValueError)   the body cannot be mapped; park it on the exception queue
      └── UnknownTopic          a topic this connector does not handle; fix the subscription

Both are re-exported by ``inbound`` and the package.
"""


class PayloadError(ValueError):
    """The body cannot be mapped: not JSON, a missing or invalid field, or an impossibility."""


class UnknownTopic(PayloadError):
    """A topic this connector does not handle."""
