"""How every availability push target reports a level the channel did not take."""

from __future__ import annotations

from retailhub.adapters.connectors.kit import ConnectorError, RetriableError
from retailhub.services.availability_push import LevelUpdate, PushResult

EXCERPT = 300  # characters of the channel's answer kept in the push audit


def failed(update: LevelUpdate, error: ConnectorError) -> PushResult:
    """A refused or failed level, with the vendor's words; retriable when the error is."""
    answer = str(error)
    if error.body and error.body not in answer:
        answer = f"{answer} | {error.body}"
    return PushResult(
        update,
        False,
        error.status,
        answer[:EXCERPT],
        retriable=isinstance(error, RetriableError),
    )
