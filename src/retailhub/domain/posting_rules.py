"""Declarative posting rules: which accounts and dimensions each kind of transaction posts to.

The *shape* of every entry — which amounts exist (goods, discount, shipping, tax per
jurisdiction, what the customer paid, cost, fee …) and that debits equal credits — is fixed
by the posting functions (``posting.py``, ``payment_posting.py``, ``stock_control.py``).
What finance decides, and reads in ``retailhub.toml``, is where those amounts go:

* per **transaction type** (``TxType``) the account of each **role** the type uses (``ROLES``:
  the role names are the fields of ``ChartOfAccounts``, e.g. ``sales``, ``discounts``,
  ``sales_tax``, ``customer_deposits``, ``payment_fees``);
* which **dimensions** (channel, location, brand) the entry's lines carry;
* for sales, when revenue is recognised (at order, at fulfilment, at pickup/delivery);
* optionally only for some **channels**;
* from an **effective date**: the rule that applies to an entry is the one in force on the
  entry's date. Entries already posted are never touched by a rule change; they record the
  rule and rules-file version that produced them (``JournalEntry.rule_version``).

A type with no rule in force posts to the chart of accounts' defaults. Choosing the rule: among
rules of the type in force on the date, one naming the channel beats one for all channels;
then the latest effective date wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from retailhub.domain.accounts import ChartOfAccounts
from retailhub.domain.ledger import JournalEntry, JournalLine


class TxType(StrEnum):
    WEB_SALE = "web_sale"
    POS_SALE = "pos_sale"
    MARKETPLACE_SALE = "marketplace_sale"
    RETURN = "return"  # refunds and returns, linked or not
    EXCHANGE = "exchange"  # the replacement order of an exchange
    GIFT_CARD_ISSUE = "gift_card_issue"
    GIFT_CARD_REDEEM = "gift_card_redeem"
    GIFT_CARD_BREAKAGE = "gift_card_breakage"
    SETTLEMENT = "settlement"  # a payout: clearing to bank, reserves, adjustments
    FEE = "fee"  # payment processing fees inside a settlement
    CHARGEBACK = "chargeback"
    MARKETPLACE_COMMISSION = "marketplace_commission"
    INVENTORY_ADJUSTMENT = "inventory_adjustment"  # counts, stock loads, channel-reported counts
    TRANSFER = "transfer"  # stock moving between locations
    CASH = "cash"  # drawer paid in/out and over/short


SALE_TYPES = frozenset({TxType.WEB_SALE, TxType.POS_SALE, TxType.MARKETPLACE_SALE, TxType.EXCHANGE})
# Types whose entries carry a channel, so a rule may be scoped to channels. Payouts, fees,
# commissions, chargebacks and stock movements belong to no single channel.
CHANNEL_SCOPED = SALE_TYPES | {
    TxType.RETURN,
    TxType.GIFT_CARD_ISSUE,
    TxType.GIFT_CARD_REDEEM,
    TxType.GIFT_CARD_BREAKAGE,
    TxType.CASH,
}
_SALE_ROLES = frozenset(
    {"customer_deposits", "sales", "discounts", "shipping", "sales_tax", "clearing", "cogs"}
    | {"inventory"}
)

# The accounts (ChartOfAccounts fields) each type's amounts go to: the only keys a rule may set.
ROLES: Mapping[TxType, frozenset[str]] = {
    **{t: _SALE_ROLES for t in SALE_TYPES},
    TxType.RETURN: _SALE_ROLES | {"refund_adjustments"},
    TxType.GIFT_CARD_ISSUE: frozenset({"gift_cards"}),
    TxType.GIFT_CARD_REDEEM: frozenset({"gift_cards"}),
    TxType.GIFT_CARD_BREAKAGE: frozenset({"gift_cards", "gift_card_breakage"}),
    TxType.SETTLEMENT: frozenset({"bank", "clearing", "reserves", "settlement_adjustments"}),
    TxType.FEE: frozenset({"payment_fees"}),
    TxType.CHARGEBACK: frozenset({"chargebacks", "clearing"}),
    TxType.MARKETPLACE_COMMISSION: frozenset({"commissions"}),
    TxType.INVENTORY_ADJUSTMENT: frozenset(
        {"inventory", "inventory_adjustments", "opening_balances"}
    ),
    TxType.TRANSFER: frozenset({"inventory", "inventory_in_transit", "inventory_adjustments"}),
    TxType.CASH: frozenset({"clearing", "cash_over_short", "cash_paid_in", "cash_paid_out"}),
}

DIMENSIONS = ("channel", "location", "brand")


class Recognition(StrEnum):
    """When a sale's revenue (and its cost) is recognised."""

    AT_ORDER = "order"
    AT_FULFILMENT = "fulfilment"  # when goods leave a location (shipped or handed over)
    # Shipments when the carrier reports them delivered; pickups when handed over in store.
    AT_PICKUP_OR_DELIVERY = "delivery"

    @classmethod
    def parse(cls, text: str) -> Recognition:
        aliases = {
            "pickup": cls.AT_PICKUP_OR_DELIVERY,
            "pickup/delivery": cls.AT_PICKUP_OR_DELIVERY,
        }
        return aliases.get(text) or cls(text)


@dataclass(frozen=True, slots=True)
class PostingRule:
    type: TxType
    effective_from: date
    # Not hashed (a dict): rules are cache keys, told apart by type, scope and date.
    accounts: Mapping[str, str] = field(default_factory=dict, hash=False)
    dimensions: frozenset[str] = frozenset(DIMENSIONS)
    channels: frozenset[str] | None = None  # None: every channel
    recognition: Recognition | None = None  # sales types only
    line: int | None = None  # where the rule starts in the configuration file
    description: str = ""

    @property
    def label(self) -> str:
        scope = f"[{','.join(sorted(self.channels))}]" if self.channels else ""
        return f"{self.type.value}{scope}@{self.effective_from.isoformat()}"

    def covers(self, channel: str | None) -> bool:
        return self.channels is None or (channel is not None and channel in self.channels)


@dataclass(frozen=True, slots=True)
class AppliedRule:
    """The rule in force for one entry: its accounts, and how to stamp what it produced."""

    accounts: ChartOfAccounts
    rule: PostingRule | None
    version: str
    base: PostingRule | None = None  # the sale rule a return is layered over
    label: str = field(init=False, compare=False)  # "web_sale@2026-01-01 v3", worked out once

    def __post_init__(self) -> None:
        over = f" over {self.base.label}" if self.base else ""
        label = f"{self.rule.label if self.rule else 'default'}{over} v{self.version}"
        object.__setattr__(self, "label", label)

    def finish(self, entry: JournalEntry | None) -> JournalEntry | None:
        """Keep only the rule's dimensions on the lines, and record which rule posted it."""
        if entry is None:
            return None
        governing = self.rule or self.base
        dims = governing.dimensions if governing else frozenset(DIMENSIONS)
        if len(dims) < len(DIMENSIONS):
            lines = _merge(
                JournalLine(
                    line.account,
                    line.amount,
                    line.currency,
                    line.memo,
                    line.channel if "channel" in dims else None,
                    line.location if "location" in dims else None,
                    line.brand if "brand" in dims else None,
                )
                for line in entry.lines
            )
            return replace(entry, lines=lines, rule_version=self.label)
        # The entry was just built for this rule and is shared with no one yet: stamp it in
        # place. A copy would check its balance again, for every entry on the posting path.
        object.__setattr__(entry, "rule_version", self.label)
        return entry


def _merge(lines: object) -> tuple[JournalLine, ...]:
    """Lines that became identical once a dimension was dropped, added together."""
    sums: dict[tuple[str, str, str | None, str | None, str | None, str | None], int] = {}
    for line in lines:  # type: ignore[attr-defined]
        key = (line.account, line.currency, line.memo, line.channel, line.location, line.brand)
        sums[key] = sums.get(key, 0) + line.amount
    return tuple(
        JournalLine(a, amount, c, m, ch, loc, br)
        for (a, c, m, ch, loc, br), amount in sums.items()
        if amount
    )


@dataclass(frozen=True)
class RuleBook:
    """The posting rules of one configuration file, by type, with the file's version."""

    rules: tuple[PostingRule, ...] = ()
    version: str = "0"
    _by_type: dict[TxType, tuple[PostingRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for t in TxType:
            found = tuple(r for r in self.rules if r.type is t)
            if found:
                self._by_type[t] = found

    def rule_for(self, tx: TxType, on: date, channel: str | None) -> PostingRule | None:
        best: PostingRule | None = None
        for r in self._by_type.get(tx, ()):
            if r.effective_from > on or not r.covers(channel):
                continue
            if best is None or _rank(r) > _rank(best):
                best = r
        return best


def _rank(r: PostingRule) -> tuple[bool, date]:
    return (r.channels is not None, r.effective_from)
