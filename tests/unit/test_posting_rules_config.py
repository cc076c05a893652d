"""``[posting_rules]`` in retailhub.toml: which rule applies, and a wrong rules file refused
with a message that says where (``retailhub.toml:<line>: …``), without a database."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retailhub import config
from retailhub.demo.retailer import config_text
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.domain.posting import PostingPolicy
from retailhub.domain.posting_rules import (
    ROLES,
    AppliedRule,
    PostingRule,
    Recognition,
    RuleBook,
    TxType,
)
from retailhub.entrypoints.cli.main import app

FIXTURES = Path(__file__).parents[1] / "fixtures/posting_rules"
DOCS = Path(__file__).parents[2] / "docs/posting-rules.md"
JAN, JUN = date(2026, 1, 1), date(2026, 6, 1)


# -- which rule applies ------------------------------------------------------------------------


def test_a_channel_rule_beats_an_all_channel_rule_then_the_latest_date_wins():
    everyone = PostingRule(TxType.WEB_SALE, JUN, {"sales": "Income:Sales:June"})
    web_only = PostingRule(
        TxType.WEB_SALE, JAN, {"sales": "Income:Sales:Web"}, channels=frozenset({"web"})
    )
    older = PostingRule(TxType.WEB_SALE, JAN, {"sales": "Income:Sales:January"})
    future = PostingRule(TxType.WEB_SALE, date(2027, 1, 1), {"sales": "Income:Sales:2027"})
    book = RuleBook((older, everyone, web_only, future), "7")

    assert book.rule_for(TxType.WEB_SALE, date(2026, 11, 20), "web") is web_only
    assert book.rule_for(TxType.WEB_SALE, date(2026, 11, 20), "b2b") is everyone
    assert book.rule_for(TxType.WEB_SALE, date(2026, 3, 1), "b2b") is older
    assert book.rule_for(TxType.WEB_SALE, date(2025, 12, 31), "b2b") is None  # nothing yet
    assert book.rule_for(TxType.POS_SALE, date(2026, 11, 20), "pos") is None  # another type
    assert (web_only.label, everyone.label) == ("web_sale[web]@2026-01-01", "web_sale@2026-06-01")


def test_an_entry_keeps_only_the_rules_dimensions_and_says_which_rule_posted_it():
    """Two stores' lines of one account merge when the location is dropped; lines that cancel
    out disappear."""
    lines = (
        JournalLine("Income:Sales", -1000, "USD", None, "pos", "STORE-1", "Northwind"),
        JournalLine("Income:Sales", -500, "USD", None, "pos", "STORE-2", "Northwind"),
        JournalLine("Assets:Clearing:Card", 300, "USD", None, "pos", "STORE-1"),
        JournalLine("Assets:Clearing:Card", -300, "USD", None, "pos", "STORE-2"),
        JournalLine("Liabilities:Customer-Deposits", 1500, "USD", None, "pos", "STORE-1"),
    )
    posted = JournalEntry(JAN, "sale", SourceRef("order", "1"), lines, "revenue")
    rule = PostingRule(TxType.POS_SALE, JAN, dimensions=frozenset({"channel", "brand"}))
    applied = AppliedRule(PostingPolicy().accounts, rule, "2026.1")

    finished = applied.finish(posted)
    assert finished is not None and finished.rule_version == "pos_sale@2026-01-01 v2026.1"
    assert sorted(finished.lines, key=lambda x: x.account) == [
        JournalLine("Income:Sales", -1500, "USD", None, "pos", None, "Northwind"),
        JournalLine("Liabilities:Customer-Deposits", 1500, "USD", None, "pos", None, None),
    ]
    default = AppliedRule(PostingPolicy().accounts, None, "3").finish(posted)
    assert default is not None and default.rule_version == "default v3"
    assert default.lines == posted.lines  # every dimension kept: nothing merged


def test_recognition_timing_names():
    assert Recognition.parse("order") is Recognition.AT_ORDER
    assert Recognition.parse("fulfilment") is Recognition.AT_FULFILMENT
    assert Recognition.parse("pickup") is Recognition.AT_PICKUP_OR_DELIVERY
    assert Recognition.parse("delivery") is Recognition.AT_PICKUP_OR_DELIVERY


def test_a_rule_in_force_can_be_applied():
    rule = PostingRule(TxType.WEB_SALE, JAN, {"sales": "Income:Sales:Web"})
    policy = PostingPolicy(book=RuleBook((rule,), "2026.1"))

    applied = policy.rule(TxType.WEB_SALE, date(2026, 11, 20), "web")
    assert applied.accounts.sales == "Income:Sales:Web"
    assert applied.accounts.discounts == "Income:Discounts"  # a role it does not set: default
    assert applied.label == "web_sale@2026-01-01 v2026.1"


# -- a rules file that loads -------------------------------------------------------------------


def _load(tmp_path: Path, text: str) -> config.Settings:
    path = tmp_path / "retailhub.toml"
    path.write_text(text)
    return config.load(path)


def _line_of(text: str, marker: str, nth: int = 0) -> int:
    """The 1-based number of the ``nth`` line (not a comment) containing ``marker``."""
    lines = enumerate(text.splitlines(), start=1)
    found = [n for n, line in lines if marker in line and not line.lstrip().startswith("#")]
    return found[nth]


def test_the_example_rules_file_loads_with_each_rule_where_it_starts(tmp_path: Path):
    text = config_text("s") + "\n" + (FIXTURES / "example.toml").read_text()
    book = _load(tmp_path, text).posting_rules

    assert book.version == "2026.3"
    assert [r.label for r in book.rules] == [
        "web_sale@2026-01-01",
        "web_sale[web]@2026-07-01",
        "pos_sale[pos]@2026-01-01",
        "return@2026-01-01",
        "gift_card_issue@2026-01-01",
        "gift_card_redeem@2026-01-01",
        "gift_card_breakage@2026-01-01",
        "fee@2026-01-01",
        "inventory_adjustment@2026-01-01",
    ]
    assert [r.line for r in book.rules] == [
        _line_of(text, "[[posting_rules.rule]]", i) for i in range(len(book.rules))
    ]
    web, web_july, pos = book.rules[:3]
    assert web.recognition is Recognition.AT_FULFILMENT and web.channels is None
    assert web_july.recognition is Recognition.AT_ORDER and web_july.channels == {"web"}
    assert web.dimensions == {"channel", "brand"}
    assert pos.accounts == {"sales": "Income:Sales:Stores", "discounts": "Income:Discounts:Stores"}
    assert book.rules[-1].description == ""
    assert web.description == "Web revenue by brand"


def test_every_rules_example_in_the_documentation_loads(tmp_path: Path):
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), re.S)
    examples = [b for b in blocks if "posting_rules" in b]
    assert len(examples) >= 5
    for n, block in enumerate(examples):
        if "[posting_rules]" not in block:  # a fragment: one or two rules
            block = '[posting_rules]\nversion = "1"\n' + block
        (tmp_path / str(n)).mkdir()
        _load(tmp_path / str(n), config_text("s") + "\n" + block)


# -- a rules file that does not ----------------------------------------------------------------

HEAD = """\
[company]
name = "Rules Co"

[[locations]]
code = "WH"

[channels.web]
locations = ["WH"]

[channels.pos]
locations = ["WH"]

[posting_rules]
version = "2026.1"

[[posting_rules.rule]]
type = "web_sale"
effective_from = 2026-01-01
accounts = { sales = "Income:Sales:Web" }

[[posting_rules.rule]]
"""
SALE_ROLES = "clearing, cogs, customer_deposits, discounts, inventory, sales, sales_tax, shipping"

# (the second rule's body, the text on the line the error must name, what it must say)
BROKEN = {
    "unknown type": (
        'type = "web_sales"\neffective_from = 2026-02-01\n',
        'type = "web_sales"',
        ".type: unknown type 'web_sales' (one of web_sale, pos_sale, marketplace_sale, ",
    ),
    "unknown role for the type": (
        'type = "web_sale"\neffective_from = 2026-02-01\n'
        'accounts = { sales = "Income:Sales:Web", refund_adjustments = "Income:Adjust" }\n',
        "refund_adjustments",
        f".accounts.refund_adjustments: web_sale has no role 'refund_adjustments' (its roles: {SALE_ROLES})",
    ),
    "account outside the five types": (
        'type = "return"\neffective_from = 2026-02-01\naccounts = { sales = "Revenue:Returns" }\n',
        "Revenue:Returns",
        ".accounts.sales: sales = 'Revenue:Returns' is not an account name: colon-separated words "
        "starting with one of Assets, Liabilities, Equity, Income, Expenses",
    ),
    "account name with a space": (
        'type = "fee"\neffective_from = 2026-02-01\n'
        'accounts = { payment_fees = "Expenses:Card Fees" }\n',
        "Expenses:Card Fees",
        ".accounts.payment_fees: payment_fees = 'Expenses:Card Fees' is not an account name",
    ),
    "unknown channel": (
        'type = "marketplace_sale"\neffective_from = 2026-02-01\nchannels = ["amazon"]\n',
        '["amazon"]',
        ".channels: unknown channel(s) 'amazon' (configured: pos, web)",
    ),
    "bad date": (
        'type = "web_sale"\neffective_from = "2026-02-30"\n',
        "2026-02-30",
        ".effective_from: effective_from '2026-02-30' is not a date (YYYY-MM-DD)",
    ),
    "revenue timing on a fee": (
        'type = "fee"\neffective_from = 2026-02-01\nrecognise_revenue_at = "order"\n',
        "recognise_revenue_at",
        ".recognise_revenue_at: recognise_revenue_at applies to sales only, not fee",
    ),
    "unknown revenue timing": (
        'type = "pos_sale"\neffective_from = 2026-02-01\nrecognise_revenue_at = "payday"\n',
        "payday",
        ".recognise_revenue_at: recognise_revenue_at must be 'order', 'fulfilment' or 'delivery'",
    ),
    "unknown dimension": (
        'type = "web_sale"\neffective_from = 2026-02-01\ndimensions = ["channel", "region"]\n',
        "region",
        ".dimensions: dimensions must be a list drawn from channel, location, brand",
    ),
    "misspelt key": (
        'type = "web_sale"\neffective_from = 2026-02-01\naccount = { sales = "Income:X" }\n',
        "account = ",
        ": unknown key 'account' (allowed: accounts, channels, description, dimensions, ",
    ),
    "no type": (
        "effective_from = 2026-02-01\n",
        "effective_from = 2026-02-01",
        ": needs a type (one of web_sale, ",
    ),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_wrong_rule_is_refused_with_its_line(tmp_path: Path, case: str):
    body, marker, says = BROKEN[case]
    text = HEAD + body
    path = tmp_path / "retailhub.toml"
    with pytest.raises(config.ConfigError) as refused:
        _load(tmp_path, text)
    message = str(refused.value)
    # "no type": the line of the rule's own header, the key it lacks is nowhere.
    line = _line_of(text, "[[posting_rules.rule]]", 1) if case == "no type" else None
    assert message.startswith(f"{path}:{line or _line_of(text, marker)}: posting_rules.rule[2]")
    assert says in message


def test_rules_without_a_version_are_refused_at_the_posting_rules_table(tmp_path: Path):
    text = HEAD.replace('version = "2026.1"\n', "") + 'type = "fee"\neffective_from = 2026-02-01\n'
    with pytest.raises(config.ConfigError) as refused:
        _load(tmp_path, text)
    assert str(refused.value) == (
        f"{tmp_path / 'retailhub.toml'}:{_line_of(text, '[posting_rules]')}: [posting_rules] "
        'needs a version (e.g. version = "2026.1"): it is recorded on every entry the rules post'
    )


def test_roles_are_the_chart_of_accounts_fields():
    fields = set(PostingPolicy().accounts.named())
    for tx in TxType:
        assert ROLES[tx] <= fields, tx


def test_two_rules_for_the_same_type_channels_and_date_are_refused_with_both_lines(
    tmp_path: Path,
):
    text = HEAD + 'type = "web_sale"\neffective_from = 2026-01-01\n'
    with pytest.raises(config.ConfigError) as refused:
        _load(tmp_path, text)
    first, second = (_line_of(text, "[[posting_rules.rule]]", i) for i in (0, 1))
    assert str(refused.value).startswith(
        f"{tmp_path / 'retailhub.toml'}:{second}: posting_rules.rule[2]: same type, channels and "
        f"effective_from as rule[1] (line {first})"
    )


def test_rules_without_a_posting_rules_table_are_refused_at_the_first_rule(tmp_path: Path):
    text = HEAD.replace('[posting_rules]\nversion = "2026.1"\n', "") + (
        'type = "fee"\neffective_from = 2026-02-01\n'
    )
    with pytest.raises(config.ConfigError) as refused:
        _load(tmp_path, text)
    first = _line_of(text, "[[posting_rules.rule]]")
    assert str(refused.value).startswith(f"{tmp_path / 'retailhub.toml'}:{first}: ")


def test_a_wrong_role_in_an_accounts_table_is_refused_at_its_own_line(tmp_path: Path):
    text = HEAD + (
        'type = "web_sale"\neffective_from = 2026-02-01\n[posting_rules.rule.accounts]\n'
        'sales = "Income:Sales:Web"\nreturns = "Income:Returns"\n'
    )
    with pytest.raises(config.ConfigError) as refused:
        _load(tmp_path, text)
    assert str(refused.value).startswith(
        f"{tmp_path / 'retailhub.toml'}:{_line_of(text, 'returns = ')}: "
    )


def test_a_channel_list_on_a_type_posted_without_a_channel_is_refused(tmp_path: Path):
    text = HEAD + 'type = "fee"\neffective_from = 2026-02-01\nchannels = ["web"]\n'
    with pytest.raises(config.ConfigError) as refused:
        _load(tmp_path, text)
    line = _line_of(text, 'channels = ["web"]')
    assert str(refused.value).startswith(f"{tmp_path / 'retailhub.toml'}:{line}: ")


# -- the CLI -----------------------------------------------------------------------------------


def _doctor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[int, str]:
    """``retailhub --config retailhub.toml doctor`` in ``tmp_path``: exit code, stderr (with
    the console's line wrapping undone)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retailhub.toml").write_text(text)
    run = CliRunner().invoke(app, ["--config", "retailhub.toml", "doctor"])
    return run.exit_code, " ".join(run.stderr.split())


def test_doctor_refuses_a_wrong_rules_file_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text = HEAD + 'type = "web_sales"\neffective_from = 2026-02-01\n'
    code, said = _doctor(tmp_path, monkeypatch, text)
    assert code == 2
    line = _line_of(text, 'type = "web_sales"')
    assert f"retailhub.toml:{line}: posting_rules.rule[2].type: unknown type 'web_sales'" in said


def test_doctor_names_the_posting_rules_table_when_the_version_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text = HEAD.replace('version = "2026.1"\n', "") + 'type = "fee"\neffective_from = 2026-02-01\n'
    code, said = _doctor(tmp_path, monkeypatch, text)
    assert code == 2
    line = _line_of(text, "[posting_rules]")
    assert f"retailhub.toml:{line}: [posting_rules] needs a version" in said
