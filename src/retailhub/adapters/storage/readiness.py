"""Go-live readiness: what will make integrations fail, found before they do.

Each check returns findings as values (like beancount's validations), so one run reports
everything. ``blocking`` findings stop deliveries from applying; warnings cost money or time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection, Engine

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.adapters.files.fx_rates import load_rates
from retailhub.adapters.storage.erp_repo import ledger_accounts
from retailhub.adapters.storage.migrate import pending_migrations
from retailhub.adapters.storage.tables import (
    exceptions,
    item_identities,
    items,
    location_identities,
)
from retailhub.config import Settings
from retailhub.domain.fx import RatesUnavailable

MAX_CLOCK_SKEW_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    blocking: bool
    message: str


def check_all(engine: Engine, settings: Settings, now: datetime) -> list[Finding]:
    findings = [
        Finding("migrations", True, f"pending database migrations: {', '.join(p)}")
        for p in [pending_migrations(engine)]
        if p
    ]
    if findings:
        return findings  # the other checks read tables that may not exist yet
    with engine.connect() as conn:
        findings += _unknown_channel_skus(conn)
        findings += _incomplete_items(conn)
        findings += _unmapped_locations(conn, settings)
        findings += _clock_skew(conn, now)
        findings += _erp_accounts(conn, settings)
    findings += _connectors(settings)
    findings += _accounts(settings)
    findings += _fx_rates(settings)
    return findings


def _fx_rates(settings: Settings) -> list[Finding]:
    """A configured rates file must be there and readable: foreign-currency facts wait on it."""
    if settings.fx_rates_file is None:
        return []
    try:
        load_rates(settings.fx_rates_file, settings.currency)
    except RatesUnavailable as exc:
        return [Finding("fx", True, str(exc))]
    return []


def _erp_accounts(conn: Connection, settings: Settings) -> list[Finding]:
    """Accounts the ledger uses that an accounting target cannot take (``erp check``)."""
    if not settings.erp:
        return []
    used = ledger_accounts(conn)
    out = []
    for target, options in settings.erp.items():
        _, missing = AccountMap(target, options.get("accounts")).mapped(used)
        if missing:
            out.append(
                Finding(
                    "erp",
                    True,
                    f"{target}: {len(missing)} ledger account(s) not mapped under "
                    f"[erp.{target}.accounts]: {', '.join(missing[:5])}"
                    + (" …" if len(missing) > 5 else ""),
                )
            )
    return out


def _unknown_channel_skus(conn: Connection) -> list[Finding]:
    rows = conn.execute(
        select(exceptions.c.subject, func.count())
        .where(exceptions.c.type == "unknown_sku", exceptions.c.status.in_(("open", "retrying")))
        .group_by(exceptions.c.subject)
        .order_by(exceptions.c.subject)
    ).all()
    return [
        Finding(
            "channel_skus",
            True,
            f"{subject} is sold by a channel but not in the item master ({n} deliveries waiting)",
        )
        for subject, n in rows
    ]


def _incomplete_items(conn: Connection) -> list[Finding]:
    out = []
    for sku, cost, tax_class in conn.execute(
        select(items.c.sku, items.c.unit_cost, items.c.tax_class)
        .where(or_(items.c.unit_cost <= 0, items.c.tax_class == ""))
        .order_by(items.c.sku)
    ):
        missing = [what for what, bad in (("cost", cost <= 0), ("tax class", not tax_class)) if bad]
        out.append(
            Finding(
                "items", False, f"{sku} has no {' or '.join(missing)}: COGS or tax will be wrong"
            )
        )
    unmapped = conn.execute(
        select(func.count())
        .select_from(items)
        .where(
            ~items.c.sku.in_(
                select(item_identities.c.sku).where(item_identities.c.kind == "variant")
            )
        )
    ).scalar_one()
    if unmapped:
        out.append(
            Finding(
                "items",
                False,
                f"{unmapped} item(s) have no Shopify variant id: orders for them only match by SKU",
            )
        )
    return out


def _unmapped_locations(conn: Connection, settings: Settings) -> list[Finding]:
    mapped = set(conn.execute(select(location_identities.c.location)).scalars())
    return [
        Finding(
            "locations",
            False,
            f"location {loc.code} has no Shopify location id: "
            "fulfilments and POS sales there cannot be placed",
        )
        for loc in settings.locations
        if loc.holds_sellable_stock and settings.shopify and loc.code not in mapped
    ]


def _clock_skew(conn: Connection, now: datetime) -> list[Finding]:
    if conn.dialect.name != "postgresql":
        return []  # SQLite runs in this process: it has no clock of its own
    server = conn.execute(text("select now()")).scalar_one()
    skew = abs((server.astimezone(UTC) - now).total_seconds())
    if skew <= MAX_CLOCK_SKEW_SECONDS:
        return []
    return [
        Finding(
            "clock",
            True,
            f"this machine's clock is {skew:.1f}s off the database's: "
            "waiting deliveries and SLAs would time out wrongly",
        )
    ]


def _connectors(settings: Settings) -> list[Finding]:
    if settings.shopify is None and settings.square is None:
        return [
            Finding(
                "connectors",
                True,
                "no [connectors.shopify] or [connectors.square]: "
                "no channel can deliver orders (only POS batch files)",
            )
        ]
    out = []
    if settings.shopify is not None and any(len(s) < 16 for s in settings.shopify.secrets):
        out.append(
            Finding(
                "connectors",
                True,
                "the Shopify webhook secret is shorter than 16 "
                "characters: it is not the app's client secret",
            )
        )
    stripe = settings.stripe
    if stripe is not None and not all(s.startswith("whsec_") for s in stripe.secrets):
        out.append(
            Finding(
                "connectors",
                True,
                "a Stripe signing secret does not start with "
                "whsec_: it is not an endpoint's signing secret",
            )
        )
    if stripe is not None and stripe.api_key is None:
        out.append(
            Finding(
                "connectors",
                False,
                "no Stripe API key: payout.paid events cannot "
                "fetch their balance transactions (import payout reports instead)",
            )
        )
    square = settings.square
    if square is not None and square.access_token is None:
        out.append(
            Finding(
                "connectors",
                True,
                "no Square access token: order webhooks carry "
                "only a stub and every one will fail until orders can be fetched",
            )
        )
    if square is not None and not square.notification_url.startswith("https://"):
        out.append(
            Finding(
                "connectors",
                True,
                "the Square notification_url must be the https "
                "URL registered with Square: it is part of what Square signs",
            )
        )
    return out


def _accounts(settings: Settings) -> list[Finding]:
    chart = settings.accounts
    out = []
    for gateway, account in chart.gateways.items():
        if not account.startswith(("Assets:", "Liabilities:")):
            out.append(
                Finding(
                    "accounts",
                    True,
                    f"gateway {gateway} clears into {account}, "
                    "which is not an asset or liability account",
                )
            )
    for name, account in chart.named().items():
        root = account.split(":", 1)[0]
        if root not in ("Assets", "Liabilities", "Equity", "Income", "Expenses"):
            out.append(
                Finding(
                    "accounts",
                    True,
                    f"[accounts] {name} = {account!r} does not "
                    "start with Assets/Liabilities/Equity/Income/"
                    "Expenses",
                )
            )
    return out
