"""``[posting_rules]`` in retailhub.toml: read, validated, and every error tied to its line.

    [posting_rules]
    version = "2026.2"            # required once there are rules; recorded on every entry

    [[posting_rules.rule]]
    type = "web_sale"             # see domain/posting_rules.TxType
    effective_from = 2026-01-01   # TOML date (or "2026-01-01")
    channels = ["web"]            # optional; default: every channel
    recognise_revenue_at = "fulfilment"   # sale types: order | fulfilment | delivery
    dimensions = ["channel", "location", "brand"]
    accounts = { sales = "Income:Sales:Web", discounts = "Income:Discounts:Web" }

The TOML parser gives line numbers only for syntax errors; for a rule that parses but is wrong
(an unknown role, an account outside the five account types, a channel that does not exist)
``TomlLines`` finds the line of the offending key from the file's text, so the message says
``retailhub.toml:42: posting_rules.rule[3].accounts: …``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from retailhub.domain.accounts import AccountType
from retailhub.domain.posting_rules import (
    CHANNEL_SCOPED,
    DIMENSIONS,
    ROLES,
    SALE_TYPES,
    PostingRule,
    Recognition,
    RuleBook,
    TxType,
)

_KEYS = {
    "type",
    "effective_from",
    "channels",
    "recognise_revenue_at",
    "dimensions",
    "accounts",
    "description",
}
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")
_ACCOUNT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*(:[A-Za-z0-9][A-Za-z0-9\-]*)*$")


class RulesError(ValueError):
    """A posting rule that cannot be used, with where it is."""


class TomlLines:
    """Line numbers of tables and keys in a TOML text (1-based), for error messages."""

    def __init__(self, text: str | None) -> None:
        self.tables: list[tuple[str, int, int]] = []  # (table name, n-th occurrence, line)
        self.keys: dict[tuple[str, int, str], int] = {}
        if not text:
            return
        seen: dict[str, int] = {}
        arrays: dict[str, int] = {}  # [[name]] -> the occurrence now open
        current, nth = "", 0
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                current = header.group(2).replace(" ", "")
                parent = _open_array(current, arrays)
                if header.group(1) == "[[":
                    nth = arrays[current] = seen.get(current, -1) + 1
                elif parent is not None:  # [name.sub] belongs to the open [[name]]
                    nth = arrays[parent]
                else:
                    nth = seen.get(current, -1) + 1
                seen[current] = max(seen.get(current, -1), nth)
                self.tables.append((current, nth, number))
                continue
            key = _KEY.match(line)
            if key:
                self.keys.setdefault((current, nth, key.group(1).strip("\"'")), number)

    def table(self, name: str, nth: int = 0) -> int | None:
        for table, n, number in self.tables:
            if table == name and n == nth:
                return number
        return None

    def key(self, table: str, nth: int, key: str) -> int | None:
        """The line of ``key`` (``accounts.sales`` reaches into a sub-table or inline table),
        else of its table."""
        if "." in key:
            head, rest = key.split(".", 1)
            return (
                self.keys.get((f"{table}.{head}", nth, rest))
                or self.keys.get((table, nth, head))
                or self.table(table, nth)
            )
        return self.keys.get((table, nth, key)) or self.table(table, nth)


def _open_array(name: str, arrays: dict[str, int]) -> str | None:
    """The array-of-tables a dotted table name belongs to (``posting_rules.rule.accounts`` →
    ``posting_rules.rule``), if one is open."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in arrays:
            return prefix
    return None


def parse_posting_rules(
    raw: Mapping[str, Any],
    where: str,
    lines: TomlLines,
    channels: Iterable[str],
) -> RuleBook:
    if not raw:
        return RuleBook()
    known_channels = set(channels)
    rules_raw = raw.get("rule", [])

    def fail(message: str, line: int | None) -> RulesError:
        at = f"{where}:{line}" if line else where
        return RulesError(f"{at}: {message}")

    if not isinstance(rules_raw, list):
        raise fail(
            "posting_rules.rule must be an array of tables ([[posting_rules.rule]])",
            lines.table("posting_rules"),
        )
    unknown = set(raw) - {"version", "rule"}
    if unknown:
        raise fail(
            f"[posting_rules] unknown key(s) {', '.join(sorted(unknown))} (allowed: version, rule)",
            lines.table("posting_rules"),
        )
    if rules_raw and "version" not in raw:
        raise fail(
            '[posting_rules] needs a version (e.g. version = "2026.1"): it is recorded '
            "on every entry the rules post",
            lines.table("posting_rules") or lines.table("posting_rules.rule", 0),
        )
    rules = tuple(
        _rule(
            r,
            lambda m, k, i=i: fail(
                f"posting_rules.rule[{i + 1}]{k}: {m}",
                lines.key("posting_rules.rule", i, k.lstrip(".") or "type"),
            ),
            known_channels,
            lines.table("posting_rules.rule", i),
        )
        for i, r in enumerate(rules_raw)
    )
    seen: dict[tuple[TxType, frozenset[str] | None, date], int] = {}
    for i, r in enumerate(rules):
        key = (r.type, r.channels, r.effective_from)
        if key in seen:
            raise fail(
                f"posting_rules.rule[{i + 1}]: same type, channels and effective_from as "
                f"rule[{seen[key] + 1}] (line {rules[seen[key]].line}): which one applies would "
                "be a guess",
                r.line,
            )
        seen[key] = i
    return RuleBook(rules, str(raw.get("version", "0")))


def _rule(raw: Any, fail: Any, channels: set[str], line: int | None) -> PostingRule:
    if not isinstance(raw, dict):
        raise fail("must be a table", "")
    unknown = set(raw) - _KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise fail(f"unknown key {key!r} (allowed: {', '.join(sorted(_KEYS))})", f".{key}")
    if "type" not in raw:
        raise fail("needs a type (one of " + ", ".join(t.value for t in TxType) + ")", "")
    try:
        tx = TxType(raw["type"])
    except ValueError:
        raise fail(
            f"unknown type {raw['type']!r} (one of " + ", ".join(t.value for t in TxType) + ")",
            ".type",
        ) from None
    effective = raw.get("effective_from")
    if effective is None:
        raise fail("needs effective_from (the first date the rule applies to)", "")
    if isinstance(effective, str):
        try:
            effective = date.fromisoformat(effective)
        except ValueError:
            raise fail(
                f"effective_from {effective!r} is not a date (YYYY-MM-DD)", ".effective_from"
            ) from None
    if not isinstance(effective, date):
        raise fail("effective_from must be a date (YYYY-MM-DD)", ".effective_from")
    accounts = raw.get("accounts", {})
    if not isinstance(accounts, dict):
        raise fail('accounts must be a table of role = "Account:Name"', ".accounts")
    allowed = ROLES[tx]
    for role, account in accounts.items():
        if role not in allowed:
            raise fail(
                f"{tx.value} has no role {role!r} (its roles: {', '.join(sorted(allowed))})",
                f".accounts.{role}",
            )
        _check_account(str(account), role, fail)
    dims = raw.get("dimensions", list(DIMENSIONS))
    if not isinstance(dims, list) or any(d not in DIMENSIONS for d in dims):
        raise fail(f"dimensions must be a list drawn from {', '.join(DIMENSIONS)}", ".dimensions")
    chans = raw.get("channels")
    if chans is not None:
        if tx not in CHANNEL_SCOPED:
            raise fail(
                f"{tx.value} entries belong to no single channel, so a rule for them cannot "
                "be limited to channels",
                ".channels",
            )
        if not isinstance(chans, list) or not chans:
            raise fail("channels must be a non-empty list of channel names", ".channels")
        missing = [c for c in chans if c not in channels]
        if missing:
            raise fail(
                f"unknown channel(s) {', '.join(map(repr, missing))} "
                f"(configured: {', '.join(sorted(channels)) or 'none'})",
                ".channels",
            )
    recognition = None
    if "recognise_revenue_at" in raw:
        if tx not in SALE_TYPES:
            raise fail(
                f"recognise_revenue_at applies to sales only, not {tx.value}",
                ".recognise_revenue_at",
            )
        try:
            recognition = Recognition.parse(str(raw["recognise_revenue_at"]))
        except ValueError:
            raise fail(
                "recognise_revenue_at must be 'order', 'fulfilment' or 'delivery' "
                "(pickups: when handed over)",
                ".recognise_revenue_at",
            ) from None
    return PostingRule(
        tx,
        effective,
        {str(k): str(v) for k, v in accounts.items()},
        frozenset(dims),
        frozenset(chans) if chans is not None else None,
        recognition,
        line,
        str(raw.get("description", "")),
    )


def _check_account(account: str, role: str, fail: Any) -> None:
    types = [t.value for t in AccountType]
    top = account.split(":", 1)[0]
    if top not in types or not _ACCOUNT.match(account):
        raise fail(
            f"{role} = {account!r} is not an account name: colon-separated words starting with "
            f'one of {", ".join(types)} (e.g. "Income:Sales:Web")',
            f".accounts.{role}",
        )
