"""Typed settings from one file per deployment, ``retailhub.toml``. Connects to nothing.

Errors name the file and the key at fault. Secrets may be given inline (fine for the demo)
or, better, by the name of an environment variable (``secret_env``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retailhub.config_rules import RulesError, TomlLines, parse_posting_rules
from retailhub.domain.accounts import ChartOfAccounts
from retailhub.domain.availability import (
    AtpRule,
    Backorders,
    SafetyRule,
    SafetyStock,
    parse_safety_rule,
)
from retailhub.domain.catalog import Location, LocationKind
from retailhub.domain.money import MoneyError, to_minor
from retailhub.domain.payments import gateway_key
from retailhub.domain.posting import PostingPolicy
from retailhub.domain.posting_rules import Recognition, RuleBook, TxType
from retailhub.domain.problems import ProblemType
from retailhub.services.rules import FxPolicy, FxSource, HubRules

DEFAULT_CONFIG = "retailhub.toml"
OWNED_ENTITIES = ("items", "prices", "inventory", "customers", "orders", "postings")


class ConfigError(ValueError):
    """The configuration file is missing, malformed, or refers to something undefined."""


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    locations: tuple[str, ...]
    default_location: str | None
    include_in_transit: bool = False
    backorders: Backorders = field(default_factory=Backorders.none)
    recognise_revenue_at: Recognition = Recognition.AT_FULFILMENT
    posting: str = "transaction"  # or "daily_summary": one entry per store and business day
    safety_stock: SafetyRule | None = None  # the channel's default, over location defaults
    # web | pos | marketplace: which sale rule ([[posting_rules.rule]] type) its orders follow.
    kind: str = "web"


@dataclass(frozen=True)
class ShopifyConfig:
    shop_domain: str
    secrets: tuple[str, ...]
    channels: dict[str, str] = field(default_factory=dict)  # source_name -> channel
    price_channel: str = "web"  # the channel whose prices the shop shows
    admin_token: str | None = None  # Admin API access token, to push changes back
    push_api: str = "graphql"  # availability push: "graphql" (250 levels a call) or "rest"


@dataclass(frozen=True)
class StripeConfig:
    secrets: tuple[str, ...]
    api_key: str | None = None
    tolerance_seconds: int = 300
    base_url: str | None = None


@dataclass(frozen=True)
class SquareConfig:
    signature_keys: tuple[str, ...]
    notification_url: str
    access_token: str | None = None
    base_url: str | None = None
    channel: str = "pos"


@dataclass(frozen=True)
class PosFeedConfig:
    card_gateway: str = "card"
    accept_unlinked_returns: bool = True
    channel: str = "pos"


@dataclass(frozen=True)
class ReconciliationConfig:
    amount_tolerance: int = 0  # minor units
    date_window_days: int = 7
    gateway_aliases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExceptionPolicyConfig:
    """``[exceptions]``: who owns what, how fast it must be handled, how retries back off.

    ``routing`` maps an exception type (``unknown_sku``) to an owner team, over the defaults
    in ``domain/problems.py``; ``sla_minutes`` maps a type or a team to minutes (a type wins);
    retriable connector failures are retried ``retry_limit`` times, backing off exponentially
    from ``retry_base_seconds`` (with jitter) before they stay open for a person.
    """

    routing: dict[str, str] = field(default_factory=dict)
    sla_minutes: dict[str, int] = field(default_factory=dict)
    retry_limit: int = 5
    retry_base_seconds: float = 30.0


@dataclass(frozen=True)
class Settings:
    path: Path | None
    company: str
    currency: str
    locations: tuple[Location, ...]
    channels: dict[str, ChannelConfig]
    shopify: ShopifyConfig | None
    ownership: dict[str, str]
    accounts: ChartOfAccounts
    dependency_timeout_seconds: int = 3600
    batch_size: int = 1000
    timezone: tzinfo = UTC
    stripe: StripeConfig | None = None
    square: SquareConfig | None = None
    pos_feed: PosFeedConfig = field(default_factory=PosFeedConfig)
    reconciliation: ReconciliationConfig = field(default_factory=ReconciliationConfig)
    gift_card_breakage_rate: Decimal = Decimal(0)
    push_back: frozenset[str] = frozenset()
    safety_defaults: dict[str, SafetyRule] = field(default_factory=dict)  # per location
    safety_rules: dict[tuple[str, str], SafetyRule] = field(default_factory=dict)  # sku, location
    safety_default: SafetyRule | None = None
    sales_window_days: int = 28
    push_interval_seconds: float = 1.0  # [push] interval_seconds: coalescing window per SKU
    drift_check_minutes: float = 15.0  # [push] drift_check_minutes: how often serve checks drift
    exception_policy: ExceptionPolicyConfig = field(default_factory=ExceptionPolicyConfig)
    alert_webhooks: dict[str, str] = field(default_factory=dict)  # [alerts] team = "https://…"
    # [erp.<target>]: accounting targets (quickbooks, xero, netsuite, business_central), their
    # endpoints, credentials (``*_env`` keys read from the environment) and account mappings.
    erp: dict[str, dict[str, Any]] = field(default_factory=dict)
    posting_rules: RuleBook = field(default_factory=RuleBook)  # [posting_rules]
    # [fx] rates_file: the exchange rates into ``currency`` (docs/multi-currency.md). The
    # composition root gives it a reader (``fx_source``): read only when a fact in another
    # currency needs a rate, and again whenever it changes.
    fx_rates_file: Path | None = None
    fx_source: FxSource | None = field(default=None, compare=False, repr=False)

    def safety_stock(self) -> SafetyStock | None:
        """Safety stock from ``[safety_stock]`` and the channels' defaults; None when none is
        configured (each position's stored ``safety_stock`` applies then)."""
        channel_defaults = {
            c.name: c.safety_stock for c in self.channels.values() if c.safety_stock is not None
        }
        if not (
            self.safety_rules or self.safety_defaults or channel_defaults or self.safety_default
        ):
            return None
        safety = SafetyStock(
            rules=self.safety_rules,
            channel_defaults=channel_defaults,
            location_defaults=self.safety_defaults,
        )
        if self.safety_default is not None:
            safety = replace(safety, default=self.safety_default)
        return safety

    def rules(self) -> HubRules:
        policy = PostingPolicy(
            accounts=self.accounts,
            recognition={c.name: c.recognise_revenue_at for c in self.channels.values()},
            book=self.posting_rules,
            sale_types={c.name: SALE_TYPE_OF_KIND[c.kind] for c in self.channels.values()},
        )
        return HubRules(
            posting=policy,
            default_locations={
                c.name: c.default_location for c in self.channels.values() if c.default_location
            },
            availability={
                c.name: AtpRule(c.name, c.locations, c.include_in_transit, c.backorders)
                for c in self.channels.values()
            },
            safety=self.safety_stock(),
            sales_window_days=self.sales_window_days,
            ownership=self.ownership,
            dependency_timeout_seconds=self.dependency_timeout_seconds,
            timezone=self.timezone,
            summary_channels=frozenset(
                c.name for c in self.channels.values() if c.posting == "daily_summary"
            ),
            gift_card_breakage_rate=self.gift_card_breakage_rate,
            gateway_aliases=self.reconciliation.gateway_aliases,
            push_back=self.push_back,
            price_channels={"shopify": self.shopify.price_channel} if self.shopify else {},
            fx=FxPolicy(
                self.currency,
                self.fx_source,
                self.fx_rates_file.name if self.fx_rates_file else None,
            ),
        )


def load(path: Path | str = DEFAULT_CONFIG) -> Settings:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (run `retailhub init` to create one)")
    text = path.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse(data, path, text)


def parse(data: dict[str, Any], path: Path | None = None, text: str | None = None) -> Settings:
    """Settings from parsed TOML; ``text`` (the file itself) lets errors name their line."""
    where = str(path or "config")
    company = data.get("company", {})
    locations = tuple(_location(i, raw, where) for i, raw in enumerate(data.get("locations", [])))
    codes = {loc.code for loc in locations}
    channels = {
        name: _channel(name, raw, codes, where) for name, raw in data.get("channels", {}).items()
    }
    ownership = {
        "items": "retailhub",
        "prices": "retailhub",
        "inventory": "retailhub",
        "customers": "retailhub",
        "orders": "shopify",
        "postings": "retailhub",
    }
    for entity, owner in data.get("ownership", {}).items():
        if entity not in OWNED_ENTITIES:
            raise ConfigError(
                f"{where}: [ownership] {entity}: unknown entity "
                f"(one of {', '.join(OWNED_ENTITIES)})"
            )
        ownership[entity] = str(owner)
    pipeline = data.get("pipeline", {})
    connectors = data.get("connectors", {})
    currency = str(company.get("currency", "USD")).upper()
    return Settings(
        path=path,
        company=str(company.get("name", "My Shop")),
        currency=currency,
        locations=locations,
        channels=channels,
        shopify=_shopify(connectors.get("shopify"), where),
        ownership=ownership,
        accounts=_accounts(data.get("accounts", {}), where),
        dependency_timeout_seconds=int(pipeline.get("dependency_timeout_seconds", 3600)),
        timezone=_timezone(company.get("timezone", "UTC"), where),
        batch_size=int(pipeline.get("batch_size", 1000)),
        stripe=_stripe(connectors.get("stripe"), where),
        square=_square(connectors.get("square"), where),
        pos_feed=_pos_feed(connectors.get("pos", {}), where),
        reconciliation=_reconciliation(data.get("reconciliation", {}), currency, where),
        push_back=_push_back(data.get("push_back", {}), where),
        push_interval_seconds=float(data.get("push", {}).get("interval_seconds", 1.0)),
        drift_check_minutes=float(data.get("push", {}).get("drift_check_minutes", 15.0)),
        exception_policy=_exception_policy(data.get("exceptions", {}), where),
        alert_webhooks=_alerts(data.get("alerts", {}), where),
        erp=_erp(data.get("erp", {}), where),
        posting_rules=_posting_rules(data.get("posting_rules", {}), where, text, channels),
        fx_rates_file=_fx_rates_file(data.get("fx", {}), path, where),
        **_safety_stock(data.get("safety_stock", {}), codes, where),
        gift_card_breakage_rate=_rate(
            data.get("gift_cards", {}).get("breakage_rate", "0"),
            "[gift_cards] breakage_rate",
            where,
        ),
    )


def _fx_rates_file(raw: Any, path: Path | None, where: str) -> Path | None:
    """``[fx] rates_file``, relative to the configuration file's folder."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [fx] must be a table")
    unknown = set(raw) - {"rates_file"}
    if unknown:
        raise ConfigError(f"{where}: [fx] unknown keys: {', '.join(sorted(unknown))}")
    name = raw.get("rates_file")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: [fx] rates_file must be a file name")
    return (path.parent if path is not None else Path()) / name


SALE_TYPE_OF_KIND = {
    "web": TxType.WEB_SALE,
    "pos": TxType.POS_SALE,
    "marketplace": TxType.MARKETPLACE_SALE,
}


def _posting_rules(
    raw: dict[str, Any], where: str, text: str | None, channels: dict[str, ChannelConfig]
) -> RuleBook:
    try:
        return parse_posting_rules(raw, where, TomlLines(text), channels)
    except RulesError as exc:
        raise ConfigError(str(exc)) from None


def _channel_kind(name: str, raw: dict[str, Any], where: str) -> str:
    """Explicit ``kind``, else a POS-like channel (``pos*`` or posted as daily summaries) is
    ``pos`` and the rest ``web``."""
    if "kind" in raw:
        kind = str(raw["kind"])
        if kind not in SALE_TYPE_OF_KIND:
            raise ConfigError(
                f"{where}: [channels.{name}] kind must be one of {', '.join(SALE_TYPE_OF_KIND)}"
            )
        return kind
    if name.startswith("pos") or raw.get("posting") == "daily_summary":
        return "pos"
    return "web"


ERP_TARGETS = ("quickbooks", "xero", "netsuite", "business_central")


def _erp(raw: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    """``[erp.<target>]`` tables; ``name_env = "VAR"`` becomes ``name`` = the variable's value."""
    targets: dict[str, dict[str, Any]] = {}
    for target, options in raw.items():
        if target not in ERP_TARGETS:
            raise ConfigError(
                f"{where}: [erp.{target}]: unknown accounting target "
                f"(one of {', '.join(ERP_TARGETS)})"
            )
        if not isinstance(options, dict):
            raise ConfigError(f"{where}: [erp.{target}] must be a table")
        resolved: dict[str, Any] = {}
        for key, value in options.items():
            if key.endswith("_env") and isinstance(value, str):
                name = key.removesuffix("_env")
                if value not in os.environ:
                    raise ConfigError(
                        f"{where}: [erp.{target}] {key} {value!r} is not set in the environment"
                    )
                resolved[name] = os.environ[value]
            else:
                resolved.setdefault(key, value)
        targets[target] = resolved
    return targets


def _timezone(name: str, where: str) -> tzinfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: [company] timezone {name!r} is not an IANA time zone") from exc


def _location(index: int, raw: dict[str, Any], where: str) -> Location:
    try:
        kind = LocationKind(raw.get("kind", "store"))
        external = {
            k.removesuffix("_location_id"): str(v)
            for k, v in raw.items()
            if k.endswith("_location_id")
        }
        # The POS batch feed names stores by our own code unless told otherwise.
        external.setdefault("pos", str(raw["code"]))
        return Location(
            str(raw["code"]), str(raw.get("name", raw["code"])), kind, raw.get("region"), external
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: locations[{index}] needs {exc.args[0]!r}") from exc
    except ValueError as exc:
        raise ConfigError(f"{where}: locations[{index}]: {exc}") from exc


def _channel(name: str, raw: dict[str, Any], codes: set[str], where: str) -> ChannelConfig:
    locations = tuple(raw.get("locations", []))
    default = raw.get("default_location")
    for code in (*locations, *([default] if default else [])):
        if code not in codes:
            raise ConfigError(f"{where}: [channels.{name}] refers to unknown location {code!r}")
    try:
        recognition = Recognition.parse(raw.get("recognise_revenue_at", "fulfilment"))
    except ValueError as exc:
        raise ConfigError(
            f"{where}: [channels.{name}] recognise_revenue_at must be 'order', 'fulfilment' "
            "or 'delivery' (shipments when delivered, pickups when handed over)"
        ) from exc
    try:
        backorders = Backorders.parse(
            raw["backorders"] if "backorders" in raw else bool(raw.get("allow_backorder", False))
        )
        safety = parse_safety_rule(raw["safety_stock"]) if "safety_stock" in raw else None
    except ValueError as exc:
        raise ConfigError(f"{where}: [channels.{name}] {exc}") from None
    posting = str(raw.get("posting", "transaction"))
    if posting not in ("transaction", "daily_summary"):
        raise ConfigError(
            f"{where}: [channels.{name}] posting must be 'transaction' or 'daily_summary'"
        )
    try:
        return ChannelConfig(
            name,
            locations,
            default,
            bool(raw.get("include_in_transit", False)),
            backorders,
            recognition,
            posting,
            safety,
            _channel_kind(name, raw, where),
        )
    except ValueError as exc:  # a location listed twice
        raise ConfigError(f"{where}: [channels.{name}] {exc}") from None


def _secret_values(raw: dict[str, Any], section: str, key: str, where: str) -> list[str]:
    """``key`` inline and/or ``{key}_env`` naming an environment variable."""
    values: list[str] = []
    if raw.get(f"{key}_env"):
        value = os.environ.get(str(raw[f"{key}_env"]))
        if not value:
            raise ConfigError(
                f"{where}: [connectors.{section}] {key}_env "
                f"{raw[f'{key}_env']!r} is not set in the environment"
            )
        values.append(value)
    if raw.get(key):
        values.append(str(raw[key]))
    return values


def _signing_secrets(raw: dict[str, Any], section: str, key: str, where: str) -> tuple[str, ...]:
    """The current secret plus ``previous_{key}s`` still accepted while a rotation settles."""
    secrets = _secret_values(raw, section, key, where)
    secrets += [str(s) for s in raw.get(f"previous_{key}s", [])]
    if not secrets:
        raise ConfigError(f"{where}: [connectors.{section}] needs {key} or {key}_env")
    return tuple(secrets)


def _shopify(raw: dict[str, Any] | None, where: str) -> ShopifyConfig | None:
    if raw is None:
        return None
    token = _secret_values(raw, "shopify", "admin_token", where)
    return ShopifyConfig(
        str(raw.get("shop_domain", "")),
        _signing_secrets(raw, "shopify", "secret", where),
        {str(k): str(v) for k, v in raw.get("source_channels", {}).items()},
        str(raw.get("price_channel", "web")),
        token[0] if token else None,
        _push_api(raw.get("push_api", "graphql"), where),
    )


def _push_api(value: Any, where: str) -> str:
    if value not in ("graphql", "rest"):
        raise ConfigError(f"{where}: [connectors.shopify] push_api must be 'graphql' or 'rest'")
    return str(value)


def _safety_stock(raw: dict[str, Any], codes: set[str], where: str) -> dict[str, Any]:
    """``[safety_stock]``: ``default``, ``locations = {STORE-1 = 2}``, and ``[[safety_stock.rules]]``
    with ``sku``, ``location`` and ``units`` or ``days`` (days of cover) for one SKU."""
    try:
        default = parse_safety_rule(raw["default"]) if "default" in raw else None
        by_location = {}
        for code, rule in raw.get("locations", {}).items():
            if code not in codes:
                raise ValueError(f"locations: unknown location {code!r}")
            by_location[str(code)] = parse_safety_rule(rule)
        rules = {}
        for i, r in enumerate(raw.get("rules", [])):
            if r.get("location") not in codes or not r.get("sku"):
                raise ValueError(f"rules[{i}] needs a sku and a known location")
            body = {k: v for k, v in r.items() if k not in ("sku", "location")}
            rules[(str(r["sku"]), str(r["location"]))] = parse_safety_rule(body)
        window = int(raw.get("sales_window_days", 28))
        if window < 1:
            raise ValueError("sales_window_days must be at least 1")
    except ValueError as exc:
        raise ConfigError(f"{where}: [safety_stock] {exc}") from None
    return {
        "safety_default": default,
        "safety_defaults": by_location,
        "safety_rules": rules,
        "sales_window_days": window,
    }


_TEAMS = ("finance", "store_ops", "ecommerce", "it")


def _exception_policy(raw: dict[str, Any], where: str) -> ExceptionPolicyConfig:
    types = {t.value for t in ProblemType}
    routing = {str(k): str(v) for k, v in raw.get("routing", {}).items()}
    for kind, team in routing.items():
        if kind not in types:
            raise ConfigError(f"{where}: [exceptions.routing] unknown exception type {kind!r}")
        if team not in _TEAMS:
            raise ConfigError(
                f"{where}: [exceptions.routing] {kind}: team must be one of {', '.join(_TEAMS)}"
            )
    sla = {}
    for key, minutes in raw.get("sla_minutes", {}).items():
        if key not in types and key not in _TEAMS:
            raise ConfigError(
                f"{where}: [exceptions.sla_minutes] {key!r} is neither a type nor a team"
            )
        if not isinstance(minutes, int) or minutes <= 0:
            raise ConfigError(f"{where}: [exceptions.sla_minutes] {key} must be whole minutes > 0")
        sla[str(key)] = minutes
    return ExceptionPolicyConfig(
        routing, sla, int(raw.get("retry_limit", 5)), float(raw.get("retry_base_seconds", 30.0))
    )


def _alerts(raw: dict[str, Any], where: str) -> dict[str, str]:
    hooks = {str(k): str(v) for k, v in raw.get("webhooks", {}).items()}
    for team, url in hooks.items():
        if team not in _TEAMS:
            raise ConfigError(f"{where}: [alerts.webhooks] unknown team {team!r}")
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{where}: [alerts.webhooks] {team}: not an http(s) URL")
    return hooks


def _push_back(raw: dict[str, Any], where: str) -> frozenset[str]:
    """``[push_back] prices = true``: the owner's value is written back over a non-owner's."""
    unknown = set(raw) - set(OWNED_ENTITIES)
    if unknown:
        raise ConfigError(f"{where}: [push_back] unknown entities: {', '.join(sorted(unknown))}")
    return frozenset(k for k, v in raw.items() if v is True)


def _stripe(raw: dict[str, Any] | None, where: str) -> StripeConfig | None:
    if raw is None:
        return None
    api_key = _secret_values(raw, "stripe", "api_key", where)
    return StripeConfig(
        _signing_secrets(raw, "stripe", "secret", where),
        api_key[0] if api_key else None,
        int(raw.get("tolerance_seconds", 300)),
        raw.get("base_url"),
    )


def _square(raw: dict[str, Any] | None, where: str) -> SquareConfig | None:
    if raw is None:
        return None
    if not raw.get("notification_url"):
        raise ConfigError(
            f"{where}: [connectors.square] needs notification_url (the URL Square signs)"
        )
    token = _secret_values(raw, "square", "access_token", where)
    return SquareConfig(
        _signing_secrets(raw, "square", "signature_key", where),
        str(raw["notification_url"]),
        token[0] if token else None,
        raw.get("base_url"),
        str(raw.get("channel", "pos")),
    )


def _pos_feed(raw: dict[str, Any], where: str) -> PosFeedConfig:
    return PosFeedConfig(
        str(raw.get("card_gateway", "card")),
        bool(raw.get("accept_unlinked_returns", True)),
        str(raw.get("channel", "pos")),
    )


def _rate(value: Any, what: str, where: str) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: {what} {value!r} is not a number") from None
    if not Decimal(0) <= rate < Decimal(1):
        raise ConfigError(f"{where}: {what} must be at least 0 and below 1 (a share)")
    return rate


def _reconciliation(raw: dict[str, Any], currency: str, where: str) -> ReconciliationConfig:
    try:
        tolerance = to_minor(str(raw.get("amount_tolerance", "0")), currency)
    except (MoneyError, InvalidOperation):
        raise ConfigError(
            f'{where}: [reconciliation] amount_tolerance must be an amount like "0.05"'
        ) from None
    aliases = {
        gateway_key(k): gateway_key(str(v)) for k, v in raw.get("gateway_aliases", {}).items()
    }
    return ReconciliationConfig(tolerance, int(raw.get("date_window_days", 7)), aliases)


def _accounts(raw: dict[str, Any], where: str) -> ChartOfAccounts:
    known = {f.name for f in fields(ChartOfAccounts) if not f.name.startswith("_")}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: [accounts] unknown keys: {', '.join(sorted(unknown))}")
    return ChartOfAccounts(**raw)
