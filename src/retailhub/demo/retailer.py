"""The demo retailer: an online store, two shops and a warehouse, and a few hundred SKUs."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from decimal import Decimal

from retailhub.domain.catalog import Item
from retailhub.domain.money import Money

CURRENCY = "USD"
SHOP_DOMAIN = "demo-outfitters.myshopify.com"

# Shopify location ids for each of our locations (they come from Shopify's Locations API).
SHOPIFY_LOCATIONS = {"WH": 70001, "STORE-1": 70002, "STORE-2": 70003}
STORE_NAMES = {"STORE-1": "Downtown", "STORE-2": "Riverside Mall"}

STYLES = [
    "Oxford Shirt",
    "Chino",
    "Denim Jacket",
    "Wool Sweater",
    "Rain Shell",
    "Tee",
    "Hoodie",
    "Linen Shirt",
    "Cargo Short",
    "Fleece Vest",
    "Parka",
    "Polo",
]
COLOURS = ["Navy", "Olive", "Black", "Sand", "Rust"]
SIZES = ["S", "M", "L", "XL", "XXL"]


def config_text(secret: str | None = None) -> str:
    """The demo's ``retailhub.toml``."""
    secret = secret or secrets.token_hex(24)
    return f'''# retailhub configuration for the demo retailer "Demo Outfitters".
[company]
name = "Demo Outfitters"
currency = "{CURRENCY}"
timezone = "America/New_York"   # entries are dated by the business day here

[[locations]]
code = "WH"
name = "Central warehouse"
kind = "warehouse"
shopify_location_id = "{SHOPIFY_LOCATIONS["WH"]}"

[[locations]]
code = "STORE-1"
name = "{STORE_NAMES["STORE-1"]}"
kind = "store"
shopify_location_id = "{SHOPIFY_LOCATIONS["STORE-1"]}"

[[locations]]
code = "STORE-2"
name = "{STORE_NAMES["STORE-2"]}"
kind = "store"
shopify_location_id = "{SHOPIFY_LOCATIONS["STORE-2"]}"

[[locations]]
code = "TRANSIT"
name = "Goods in transit"
kind = "in_transit"

# Available-to-promise per channel: which locations feed it.
[channels.web]
locations = ["WH", "STORE-1", "STORE-2"]
default_location = "WH"
recognise_revenue_at = "fulfilment"   # or "order"

[channels.pos]
locations = ["STORE-1", "STORE-2"]
default_location = "STORE-1"
recognise_revenue_at = "fulfilment"

[connectors.shopify]
shop_domain = "{SHOP_DOMAIN}"
secret = "{secret}"   # the app's client secret; prefer secret_env = "SHOPIFY_WEBHOOK_SECRET"

# Stripe: the endpoint's signing secret; an API key lets payout.paid fetch the payout's lines.
# [connectors.stripe]
# secret_env = "STRIPE_WEBHOOK_SECRET"     # whsec_…; previous_secrets = [...] while rolling
# api_key_env = "STRIPE_API_KEY"           # a restricted read-only key is enough
#
# Square: the subscription's signature key and its notification URL exactly as registered.
# [connectors.square]
# signature_key_env = "SQUARE_SIGNATURE_KEY"
# notification_url = "https://hub.example.com/webhooks/square"
# access_token_env = "SQUARE_ACCESS_TOKEN" # orders are fetched: webhooks carry only a stub
#
# Store registers' batch files (retailhub pos import); stores are named by location code.
# [connectors.pos]
# card_gateway = "stripe"                  # who settles the registers' card payments
# accept_unlinked_returns = true           # a return without its sale: accepted and flagged
#
# [reconciliation]
# amount_tolerance = "0.00"
# date_window_days = 7
#
# [gift_cards]
# breakage_rate = "0.05"                   # expected never redeemed (proportional method)
#
# Sales and payouts in other currencies (docs/multi-currency.md): your rates into the
# company currency, one "date,currency,rate" line each (2026-10-30,EUR,1.0843: USD per EUR).
# [fx]
# rates_file = "fx_rates.csv"              # next to this file; the latest rate on or before a date
#
# Posting rules (docs/posting-rules.md): where each kind of transaction posts, which
# dimensions its lines carry, when a channel's revenue is recognised. A change applies from
# its effective date; posted entries never change. Bump the version with every change.
# [posting_rules]
# version = "1"
#
# [[posting_rules.rule]]
# type = "return"                          # web_sale, pos_sale, return, gift_card_issue, fee …
# effective_from = 2027-01-01
# accounts = {{ sales = "Income:Sales-Returns" }}   # returns to a contra-revenue account
#
# [[posting_rules.rule]]
# type = "web_sale"
# effective_from = 2027-01-01
# recognise_revenue_at = "delivery"        # shipments when delivered, pickups when handed over
# dimensions = ["channel", "brand"]
#
# Accounting targets (docs/erp/): `retailhub erp push quickbooks` posts the journals once.
# [erp.quickbooks]
# base_url = "https://quickbooks.api.intuit.com"
# realm_id = "1234567890"
# client_id_env = "QBO_CLIENT_ID"
# client_secret_env = "QBO_CLIENT_SECRET"
# refresh_token_env = "QBO_REFRESH_TOKEN"  # first one only: rotated tokens are kept in the db
# [erp.quickbooks.accounts]
# "Income:Sales" = "79"                    # hub account (or a parent) = the target's account id

# System of record per entity: an inbound change from a non-owner is flagged, not applied.
[ownership]
items = "retailhub"
prices = "retailhub"
inventory = "retailhub"
orders = "shopify"

[accounts.gateways]
shopify_payments = "Assets:Clearing:Shopify-Payments"
paypal = "Assets:Clearing:PayPal"
cash = "Assets:Cash-Drawers"

[pipeline]
dependency_timeout_seconds = 3600
batch_size = 1000  # deliveries per transaction: throughput vs. how long a batch holds the write lock
'''


@dataclass(frozen=True)
class DemoItem:
    item: Item
    price: Decimal
    variant_id: int
    inventory_item_id: int


def catalog(rng: random.Random, size: int = 300) -> list[DemoItem]:
    """``size`` variants: styles × colours × sizes, priced with a ~45% cost ratio."""
    out: list[DemoItem] = []
    n = 0
    for s_i, style in enumerate(STYLES):
        base = Decimal(rng.choice([19, 24, 29, 39, 49, 59, 79, 99, 129, 149]))
        for colour in COLOURS:
            for size_label in SIZES:
                if len(out) >= size:
                    return out
                n += 1
                price = base + Decimal("0.95") if base < 100 else base
                cost = (price * Decimal("0.45")).quantize(Decimal("0.01"))
                sku = f"{style[:3].upper()}{s_i:02d}-{colour[:3].upper()}-{size_label}"
                item = Item(
                    sku=sku,
                    title=f"{style} {colour} {size_label}",
                    unit_cost=Money.of(cost, CURRENCY),
                    tax_class="apparel",
                    barcode=f"0{700000000000 + n:012d}"[:13],
                    style=style,
                    options=(("Colour", colour), ("Size", size_label)),
                )
                out.append(DemoItem(item, price, 40_000_000 + n, 50_000_000 + n))
    return out


def opening_stock(
    rng: random.Random, items: list[DemoItem], scale: int = 1
) -> list[tuple[str, str, int]]:
    """(sku, location, quantity): the warehouse holds most, the stores a shelf's worth."""
    out = []
    for d in items:
        out.append((d.item.sku, "WH", scale * rng.randint(20, 60)))
        out.append((d.item.sku, "STORE-1", scale * rng.randint(4, 12)))
        out.append((d.item.sku, "STORE-2", scale * rng.randint(4, 12)))
    return out
