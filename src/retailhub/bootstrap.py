"""The composition root: the one place that picks concrete adapters and wires them together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

import retailhub.observability  # noqa: F401  (logs go to stderr as JSON from import on)
from retailhub.adapters.connectors.pos import PosFeedSource
from retailhub.adapters.connectors.shopify.inventory_graphql import ShopifyGraphqlInventoryPush
from retailhub.adapters.connectors.shopify.inventory_push import ShopifyInventoryPush
from retailhub.adapters.connectors.shopify.webhook import ShopifyWebhooks
from retailhub.adapters.connectors.square.api import SquareApi
from retailhub.adapters.connectors.square.inventory_push import SquareInventoryPush
from retailhub.adapters.connectors.square.webhook import SquareWebhooks
from retailhub.adapters.connectors.stripe.api import StripeApi
from retailhub.adapters.connectors.stripe.webhook import StripeWebhooks
from retailhub.adapters.files.fx_rates import FxRatesFile
from retailhub.adapters.storage.catalog_repo import CatalogCache, SqlCatalogRepository
from retailhub.adapters.storage.migrate import upgrade
from retailhub.adapters.storage.push_state import SqlChannelLevels, SqlPushAudit
from retailhub.adapters.storage.queries import SqlLevels
from retailhub.adapters.storage.uow import SqlUnitOfWork, configure_sqlite
from retailhub.config import Settings
from retailhub.services import exception_policy
from retailhub.services.availability_push import (
    LevelKey,
    PushCoordinator,
    PushRecord,
    PushTarget,
)
from retailhub.services.drift import DriftReport, check_drift
from retailhub.services.exception_policy import ExceptionPolicy
from retailhub.services.ports import WebhookSource
from retailhub.services.processing import Processor

DEFAULT_DB_URL = "sqlite:///retailhub.db"


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url)
    configure_sqlite(engine)
    return engine


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    sources: dict[str, WebhookSource]
    clock: Callable[[], datetime]
    push: PushCoordinator | None = None  # availability push, when a channel has credentials

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def processor(self) -> Processor:
        """A processor for one run; its master-data cache lives as long as it does."""
        cache = CatalogCache()
        return Processor(
            lambda: SqlUnitOfWork(self.engine, cache),
            self.sources,
            self.settings.rules(),
            self.clock,
            self.settings.batch_size,
            on_stock_changed=self.mark_stock_changed if self.push else None,
        )

    def check_drift(self, system: str | None = None, push: bool = True) -> tuple[DriftReport, int]:
        """Compare channels' reported levels with ours, queue drifts and (with ``push``) push
        our level back to every drifted channel location; returns the report and the levels
        the channels accepted."""
        with self.uow() as uow:
            report = check_drift(
                uow, SqlLevels(uow.conn), self.settings.rules(), self.clock(), system
            )
            uow.commit()
        if not (push and report.drifts and self.push is not None):
            return report, 0
        for d in report.drifts:  # the channel holds its own figure, not what we last sent
            self.push.observe_channel(
                LevelKey(d.level.system, d.level.location_id, d.level.item_id), d.level.available
            )
        self.mark_stock_changed(report.skus, "drift found")
        return report, sum(1 for r in self.push.drain() if r.accepted)

    def push_now(self, skus: Iterable[str], reason: str) -> list[PushRecord]:
        """Push these SKUs' levels at once, without waiting out the coalescing interval: for a
        one-off process (a CLI command) that will not be around when the interval ends."""
        if self.push is None:
            return []
        self.push.interval = timedelta(0)
        self.mark_stock_changed(skus, reason)
        return self.push.drain()

    def mark_stock_changed(self, skus: Iterable[str], reason: str = "stock changed") -> None:
        """Tell the availability push which SKUs to recompute (coalesced per interval)."""
        if self.push is not None:
            now = self.clock()
            for sku in skus:
                self.push.mark(sku, reason, now)


def bootstrap(
    settings: Settings,
    db_url: str = DEFAULT_DB_URL,
    clock: Callable[[], datetime] = utc_now,
    migrate: bool = True,
) -> Hub:
    # The exception queue's routing, service levels and retry policy from retailhub.toml.
    exception_policy.configure(ExceptionPolicy.from_config(settings.exception_policy))
    if settings.fx_rates_file is not None and settings.fx_source is None:
        settings = replace(settings, fx_source=FxRatesFile(settings.fx_rates_file))
    engine = make_engine(db_url)
    if migrate:
        upgrade(engine)
    hub = Hub(settings, engine, make_sources(settings), clock)
    hub.push = make_push(settings, engine, clock)
    sync_locations(hub)
    return hub


def make_sources(settings: Settings) -> dict[str, WebhookSource]:
    """The inbound connectors the configuration names (the POS feed is always available)."""
    sources: dict[str, WebhookSource] = {}
    if settings.shopify is not None:
        sources["shopify"] = ShopifyWebhooks(
            settings.shopify.secrets, settings.shopify.channels or None, settings.currency
        )
    if settings.stripe is not None:
        stripe = settings.stripe
        stripe_api = None
        if stripe.api_key:
            stripe_api = (
                StripeApi(stripe.api_key, stripe.base_url)
                if stripe.base_url
                else StripeApi(stripe.api_key)
            )
        sources["stripe"] = StripeWebhooks(stripe.secrets, stripe_api, stripe.tolerance_seconds)
    if settings.square is not None:
        square = settings.square
        square_api = None
        if square.access_token:
            square_api = (
                SquareApi(square.access_token, square.base_url)
                if square.base_url
                else SquareApi(square.access_token)
            )
        sources["square"] = SquareWebhooks(
            square.signature_keys, square.notification_url, square_api, square.channel
        )
    pos = settings.pos_feed
    sources["pos"] = PosFeedSource(pos.card_gateway, pos.accept_unlinked_returns, pos.channel)
    return sources


def push_targets(settings: Settings) -> tuple[dict[str, PushTarget], dict[str, str]]:
    """The channels whose availability is pushed (those with API credentials), and the
    canonical channel whose ATP each one shows."""
    targets: dict[str, PushTarget] = {}
    channels: dict[str, str] = {}
    shopify = settings.shopify
    if shopify is not None and shopify.admin_token and shopify.shop_domain:
        url = shopify.shop_domain
        url = url if url.startswith("http") else f"https://{url}"
        # GraphQL sets 250 levels a call; REST one per call at 2 calls/s (docs/availability-push.md).
        targets["shopify"] = (
            ShopifyGraphqlInventoryPush(url, shopify.admin_token)
            if shopify.push_api == "graphql"
            else ShopifyInventoryPush(url, shopify.admin_token)
        )
        channels["shopify"] = shopify.price_channel
    square = settings.square
    if square is not None and square.access_token:
        api = (
            SquareApi(square.access_token, square.base_url)
            if square.base_url
            else SquareApi(square.access_token)
        )
        targets["square"] = SquareInventoryPush(api)
        channels["square"] = square.channel
    return targets, channels


def make_push(
    settings: Settings, engine: Engine, clock: Callable[[], datetime]
) -> PushCoordinator | None:
    targets, channels = push_targets(settings)
    if not targets:
        return None
    return PushCoordinator(
        SqlChannelLevels(engine, settings.rules(), channels),
        targets,
        SqlPushAudit(engine),
        clock=clock,
        interval=timedelta(seconds=settings.push_interval_seconds),
    )


def sync_locations(hub: Hub) -> None:
    """Locations live in the configuration file; the database mirrors them."""
    with hub.uow() as uow:
        catalog = SqlCatalogRepository(uow.conn)
        for location in hub.settings.locations:
            catalog.save_location(location)
        uow.ledger.open_accounts(
            sorted(set(hub.settings.accounts.named().values())), hub.clock().date()
        )
        uow.commit()
