"""Bank statement lines: where a payout has to land for the money to be truly in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class BankLine:
    account: str  # the statement's account (IBAN, account number, or the configured name)
    line_no: int  # position in the source file (1-based), for error messages and the audit
    booked_on: date
    amount: int  # signed minor units: + credited to the account (a deposit), − debited
    currency: str
    reference: str  # the bank's free text / remittance information, as given
    bank_ref: str | None = None  # the bank's unique id for the line (OFX FITID, CAMT AcctSvcrRef)
    counterparty: str | None = None
