"""The default retail chart of accounts and how account names are derived.

Account names are hierarchical (``Assets:Clearing:Shopify-Payments``) so the ledger exports
cleanly to plain-text accounting tools. Per-gateway clearing and per-jurisdiction tax accounts
are derived from a name unless the configuration maps them explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class AccountType(StrEnum):
    ASSETS = "Assets"
    LIABILITIES = "Liabilities"
    EQUITY = "Equity"
    INCOME = "Income"
    EXPENSES = "Expenses"


def account_component(text: str) -> str:
    """'CA State Tax' -> 'CA-State-Tax'; 'shopify_payments' -> 'Shopify-Payments'."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    if not words:
        return "Unnamed"
    return "-".join(w[0].upper() + w[1:] for w in words)


def is_gift_card(gateway: str | None) -> bool:
    """Shopify names the gift-card gateway ``gift_card``; POS feeds say "gift card"."""
    return (gateway or "").strip().lower().replace(" ", "_") == "gift_card"


def account_type(account: str) -> AccountType:
    return AccountType(account.split(":", 1)[0])


@dataclass(frozen=True)
class ChartOfAccounts:
    """Which account each posting rule uses. Every name can be overridden in ``retailhub.toml``."""

    customer_deposits: str = "Liabilities:Customer-Deposits"
    sales: str = "Income:Sales"
    discounts: str = "Income:Discounts"
    shipping: str = "Income:Shipping"
    sales_tax: str = "Liabilities:Sales-Tax"
    cogs: str = "Expenses:COGS"
    inventory: str = "Assets:Inventory"
    inventory_in_transit: str = "Assets:Inventory-In-Transit"  # transfers between locations
    clearing: str = "Assets:Clearing"
    gift_cards: str = "Liabilities:Gift-Cards"
    store_credit: str = "Liabilities:Store-Credit"
    refund_adjustments: str = "Income:Refund-Adjustments"
    inventory_adjustments: str = "Expenses:Inventory-Adjustments"
    opening_balances: str = "Equity:Opening-Balances"
    bank: str = "Assets:Bank"
    payment_fees: str = "Expenses:Payment-Fees"  # per gateway: Expenses:Payment-Fees:Stripe
    commissions: str = "Expenses:Marketplace-Commissions"  # per marketplace
    chargebacks: str = "Expenses:Chargebacks"
    reserves: str = "Assets:Gateway-Reserves"  # per gateway: money held back from payouts
    settlement_adjustments: str = "Expenses:Settlement-Adjustments"
    cash_over_short: str = "Expenses:Cash-Over-Short"
    cash_paid_out: str = "Expenses:Petty-Cash"
    cash_paid_in: str = "Assets:Cash-Safe"  # float top-ups come from the safe
    gift_card_breakage: str = "Income:Gift-Card-Breakage"
    # Multi-currency (docs/multi-currency.md): the trading account that balances a restated
    # entry in each currency, realised exchange differences, and payouts between periods.
    currency_conversion: str = "Equity:Currency-Conversion"
    fx_gains_losses: str = "Income:FX-Gains-Losses"
    payouts_in_transit: str = "Assets:Payouts-In-Transit"
    gateways: Mapping[str, str] = field(default_factory=dict)
    jurisdictions: Mapping[str, str] = field(default_factory=dict)
    # Derived names, memoised: posting asks for the same few accounts thousands of times.
    _derived: dict[tuple[str, str | None], str] = field(
        default_factory=dict, compare=False, repr=False
    )

    def clearing_for(self, gateway: str | None) -> str:
        """The payment clearing account of a gateway (gift cards redeem against their liability)."""
        key = ("clearing", gateway)
        if key not in self._derived:
            self._derived[key] = self._clearing_for(gateway)
        return self._derived[key]

    def _clearing_for(self, gateway: str | None) -> str:
        name = (gateway or "unknown").strip()
        if name in self.gateways:
            return self.gateways[name]
        if is_gift_card(name):
            return self.gift_cards
        return f"{self.clearing}:{account_component(name)}"

    def per_gateway(self, base: str, gateway: str) -> str:
        """A gateway's own sub-account of ``base``: fees, commissions, reserves, adjustments."""
        key = (base, gateway)
        if key not in self._derived:
            self._derived[key] = f"{base}:{account_component(gateway)}"
        return self._derived[key]

    def sales_tax_for(self, jurisdiction: str) -> str:
        key = ("tax", jurisdiction)
        if key not in self._derived:
            self._derived[key] = self._sales_tax_for(jurisdiction)
        return self._derived[key]

    def _sales_tax_for(self, jurisdiction: str) -> str:
        if jurisdiction in self.jurisdictions:
            return self.jurisdictions[jurisdiction]
        return f"{self.sales_tax}:{account_component(jurisdiction)}"

    def holds_money(self, account: str) -> bool:
        """Accounts whose balance is money in the currency it arrived in (clearing, bank,
        payouts in transit, gateway reserves, the cash safe): a foreign amount on them stays
        foreign when an entry is restated in the functional currency."""
        if account in (self.gift_cards, self.store_credit):
            return False  # a gift card "clears" into its liability: that is not money
        bases = (self.clearing, self.bank, self.payouts_in_transit, self.reserves)
        if account == self.cash_paid_in or account in self.gateways.values():
            return True
        return any(account == b or account.startswith(b + ":") for b in bases)

    def named(self) -> dict[str, str]:
        """The fixed accounts by role (for ``init`` and the readiness report)."""
        return {name: value for name, value in vars(self).items() if isinstance(value, str)}
