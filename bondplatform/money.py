"""Money: integer minor units everywhere, and the one place that rounds.

- Amounts are stored and computed as integer pence (`amount_pence`).
- The API speaks strings in major units with exactly two decimals ("250.00").
- Rounding, wherever a rate meets an amount, is half-even to the penny
  (banker's rounding): unbiased over many holdings, so an interest run's
  rounding errors do not drift in the issuer's or the investors' favour.
  Each holding's amount is rounded once; totals are sums of rounded amounts.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction

PENCE_PER_POUND = 100
# Digits, optionally a point and one or two decimals. No sign, no exponent,
# no thousands separators: "1e3" or "-5" or "10.001" are refused, not guessed.
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$")


class InvalidAmount(ValueError):
    """Input that is not a non-negative amount with at most two decimals."""


def parse_amount(value: object) -> int:
    """'250.00' (or '250', '250.5') -> 25000 pence. Floats are refused: they cannot carry money."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidAmount('Give the amount as a string such as "250.00".')
    text = str(value).strip()
    if not _AMOUNT.fullmatch(text):
        raise InvalidAmount('Give the amount in pounds with at most two decimals, such as "250.00".')
    pounds, _, pence = text.partition(".")
    return int(pounds) * PENCE_PER_POUND + int((pence + "00")[:2])


def format_pence(amount_pence: int) -> str:
    """25000 -> '250.00'; -150 -> '-1.50'."""
    sign = "-" if amount_pence < 0 else ""
    pounds, pence = divmod(abs(int(amount_pence)), PENCE_PER_POUND)
    return f"{sign}{pounds}.{pence:02d}"


def display_pounds(amount_pence: int) -> str:
    """25000 -> '£250.00', 1234567 -> '£12,345.67' (for people, not machines)."""
    sign = "-" if amount_pence < 0 else ""
    pounds, pence = divmod(abs(int(amount_pence)), PENCE_PER_POUND)
    return f"{sign}£{pounds:,}.{pence:02d}"


def round_to_pence(amount_pence: Decimal | Fraction) -> int:
    """A fractional amount of pence rounded half-even to a whole penny.

    Interest is computed exactly, as a Fraction (a rate times a day-count
    fraction such as 181/365 has no exact decimal), and rounded here, once.
    """
    if isinstance(amount_pence, Fraction):
        return round(amount_pence)  # Fraction.__round__ rounds half to even, exactly
    try:
        return int(amount_pence.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    except InvalidOperation as exc:  # pragma: no cover - only for NaN/Infinity
        raise InvalidAmount(str(exc)) from exc
