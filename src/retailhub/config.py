"""Typed settings from one file per deployment, ``retailhub.toml``. Connects to nothing.

Errors name the file and the key at fault. Secrets may be given inline (fine for the demo)
or, better, by the name of an environment variable (``secret_env``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retailhub.domain.accounts import ChartOfAccounts
from retailhub.domain.catalog import Location, LocationKind
from retailhub.domain.inventory import ChannelAvailability
from retailhub.domain.posting import PostingPolicy, Recognition
from retailhub.services.rules import HubRules

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
    allow_backorder: bool = False
    recognise_revenue_at: Recognition = Recognition.AT_FULFILMENT


@dataclass(frozen=True)
class ShopifyConfig:
    shop_domain: str
    secrets: tuple[str, ...]
    channels: dict[str, str] = field(default_factory=dict)  # source_name -> channel


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

    def rules(self) -> HubRules:
        policy = PostingPolicy(
            accounts=self.accounts,
            recognition={c.name: c.recognise_revenue_at for c in self.channels.values()},
        )
        return HubRules(
            posting=policy,
            default_locations={
                c.name: c.default_location for c in self.channels.values() if c.default_location
            },
            availability={
                c.name: ChannelAvailability(
                    c.name, c.locations, c.include_in_transit, c.allow_backorder
                )
                for c in self.channels.values()
            },
            ownership=self.ownership,
            dependency_timeout_seconds=self.dependency_timeout_seconds,
            timezone=self.timezone,
        )


def load(path: Path | str = DEFAULT_CONFIG) -> Settings:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: not found (run `retailhub init` to create one)")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse(data, path)


def parse(data: dict[str, Any], path: Path | None = None) -> Settings:
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
    return Settings(
        path=path,
        company=str(company.get("name", "My Shop")),
        currency=str(company.get("currency", "USD")).upper(),
        locations=locations,
        channels=channels,
        shopify=_shopify(data.get("connectors", {}).get("shopify"), where),
        ownership=ownership,
        accounts=_accounts(data.get("accounts", {}), where),
        dependency_timeout_seconds=int(pipeline.get("dependency_timeout_seconds", 3600)),
        timezone=_timezone(company.get("timezone", "UTC"), where),
        batch_size=int(pipeline.get("batch_size", 1000)),
    )


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
        recognition = Recognition(raw.get("recognise_revenue_at", "fulfilment"))
    except ValueError as exc:
        raise ConfigError(
            f"{where}: [channels.{name}] recognise_revenue_at must be 'order' or 'fulfilment'"
        ) from exc
    return ChannelConfig(
        name,
        locations,
        default,
        bool(raw.get("include_in_transit", False)),
        bool(raw.get("allow_backorder", False)),
        recognition,
    )


def _shopify(raw: dict[str, Any] | None, where: str) -> ShopifyConfig | None:
    if raw is None:
        return None
    secrets: list[str] = []
    if raw.get("secret_env"):
        value = os.environ.get(str(raw["secret_env"]))
        if not value:
            raise ConfigError(
                f"{where}: [connectors.shopify] secret_env "
                f"{raw['secret_env']!r} is not set in the environment"
            )
        secrets.append(value)
    if raw.get("secret"):
        secrets.append(str(raw["secret"]))
    secrets += [str(s) for s in raw.get("previous_secrets", [])]
    if not secrets:
        raise ConfigError(f"{where}: [connectors.shopify] needs secret or secret_env")
    return ShopifyConfig(
        str(raw.get("shop_domain", "")),
        tuple(secrets),
        {str(k): str(v) for k, v in raw.get("source_channels", {}).items()},
    )


def _accounts(raw: dict[str, Any], where: str) -> ChartOfAccounts:
    known = {f.name for f in fields(ChartOfAccounts) if not f.name.startswith("_")}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: [accounts] unknown keys: {', '.join(sorted(unknown))}")
    return ChartOfAccounts(**raw)
