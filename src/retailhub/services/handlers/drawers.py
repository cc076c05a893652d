"""Register drawers: the cash each should hold, and over/short that does not depend on
the order the register's records arrive in.

A drawer should hold its opening float plus the cash it took, less the cash it paid back and
paid out. The end-of-day count books the difference as over/short. Records of a register that
was offline can arrive after its count was applied; cash they move then corrects the day's
over/short by that amount (an entry of its own, never an edit), so once every record is in,
the books show ``counted − (float + takings)`` whatever the arrival order was.
"""

from __future__ import annotations

from datetime import date

from retailhub.domain import payment_posting
from retailhub.domain.money import format_minor
from retailhub.domain.problems import Problem, ProblemType
from retailhub.services.handlers.context import ApplyContext


def move_cash(
    ctx: ApplyContext,
    location: str,
    register: str,
    day: date,
    amount: int,
    currency: str,
    channel: str,
    why: str,
) -> None:
    """Cash into (+) or out of (−) a drawer; ``why`` names the fact, for idempotency keys."""
    if not amount:
        return
    registers = ctx.uow.registers
    registers.add_cash(location, register, day, amount)
    expected, counted = registers.drawer(location, register, day)
    if counted is None:
        return
    # The drawer was counted before this record arrived: what it should have held grows by
    # ``amount``, so the over/short moves by −amount.
    ctx.post(
        payment_posting.over_short(
            currency,
            channel,
            location,
            -amount,
            ctx.rules.posting,
            day,
            ctx.source("drawer", f"{location}:{register}:{day}:late:{why}"),
        )
    )
    note_difference(ctx, location, register, day, counted, expected, currency)


def note_difference(
    ctx: ApplyContext,
    location: str,
    register: str,
    day: date,
    counted: int,
    takings: int,
    currency: str,
) -> None:
    """Queue (or refresh, by subject) the drawer's over/short for the store to look at."""
    expected = takings + ctx.uow.registers.opening_float(location, register, day)
    difference = counted - expected
    subject = f"drawer:{location}:{register}:{day}"
    if difference == 0:
        ctx.put_right(ProblemType.CASH_OVER_SHORT, subject)
        return
    word = "over" if difference > 0 else "short"
    ctx.note(
        Problem(
            ProblemType.CASH_OVER_SHORT,
            f"register {register} at {location} counted {format_minor(counted, currency)} on "
            f"{day}, expected {format_minor(expected, currency)}: "
            f"{format_minor(abs(difference), currency)} {word}",
            blocking=False,
            subject=subject,
            amount=abs(difference),
        )
    )
