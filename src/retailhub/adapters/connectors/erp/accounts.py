"""Hub account names to a target's own account references.

The hub's chart uses hierarchical names (``Income:Sales``); every target wants its own ids
(QuickBooks ``AccountRef.value``, Xero account codes, NetSuite internal ids, Business Central
account numbers). ``[erp.<target>.accounts]`` maps them; the longest matching prefix wins, so
``"Liabilities:Sales-Tax" = "2200"`` covers every jurisdiction's sub-account unless one is mapped
on its own. An unmapped account refuses the posting with a message that says what to add —
posting to a guessed account would be worse than not posting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from retailhub.services.erp_posting import PostingRejected


class AccountMap:
    def __init__(self, target: str, mapping: Mapping[str, Any] | None) -> None:
        self.target = target
        self.mapping = {str(k): str(v) for k, v in (mapping or {}).items()}

    def mapped(self, accounts: list[str]) -> tuple[dict[str, str], list[str]]:
        """``accounts`` split into those this target can take (with its ref) and the rest."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for account in accounts:
            try:
                found[account] = self(account)
            except PostingRejected:
                missing.append(account)
        return found, missing

    def __call__(self, account: str) -> str:
        name = account
        while True:
            if name in self.mapping:
                return self.mapping[name]
            if ":" not in name:
                break
            name = name.rsplit(":", 1)[0]
        raise PostingRejected(
            f"account {account!r} has no {self.target} account: add it (or a parent) under "
            f"[erp.{self.target}.accounts] in retailhub.toml",
            code="unmapped_account",
        )
