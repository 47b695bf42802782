"""Which currency the deals' amounts are in, and whether they can be added up.

``deals.amount`` is money in one reporting currency only when the export
converted it (or had one currency to begin with); ``currency`` and
``amount_original`` keep each deal's own. Summing amounts in four currencies
and printing "$" is the worst kind of wrong answer, so a workspace whose
amounts are in several currencies without conversion has its amounts set
aside (:func:`comparable_amounts`): money figures are then not computed, and
the pages say why, while counts and rates stand.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from analysis.core import columns as c

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


@dataclass(frozen=True)
class Money:
    """The currency of ``deals.amount``.

    Attributes
    ----------
    currency : str or None
        ISO code of ``amount``; None when the data does not say.
    currencies : tuple of str
        Every currency among the deals with an amount.
    comparable : bool
        False when the amounts are in several currencies and were not
        converted (no rates): they cannot be summed or compared.
    """

    currency: str | None
    currencies: tuple[str, ...] = ()
    comparable: bool = True

    @property
    def symbol(self) -> str:
        """``'$'`` for USD, ``'€'`` for EUR, else the code and a space; '' when unknown."""
        if self.currency is None:
            return ""
        return SYMBOLS.get(self.currency, f"{self.currency} ")

    @property
    def note(self) -> str:
        """A sentence for pages whose money figures are not computed ('' when they are)."""
        if self.comparable:
            return ""
        return (
            f"Deal amounts are in {len(self.currencies)} currencies "
            f"({', '.join(self.currencies)}) with no exchange rates, so no money figure is "
            "computed: amounts in different currencies cannot be added up. Convert them at "
            "ingest (an amount column in one currency) to get revenue, deal size and velocity."
        )


def read_money(deals: ibis.Table, execute, reporting: str | None = None) -> Money:
    """The currency of ``deals.amount``, from the manifest's ``reporting`` or the data.

    Notes
    -----
    With a ``currency`` column: one currency among deals with an amount is
    that currency. Several currencies where every ``amount`` equals its
    ``amount_original`` were never converted: not comparable. Otherwise the
    amounts were converted into the currency whose rows kept their original
    amount.
    """
    if reporting:
        return Money(reporting)
    if c.CURRENCY not in deals.columns:
        return Money(None)
    priced = deals.filter(deals[c.AMOUNT].notnull() & deals[c.CURRENCY].notnull())
    has_original = c.AMOUNT_ORIGINAL in deals.columns
    # Without amount_original every amount counts as kept in its own currency.
    unchanged = (
        (priced[c.AMOUNT] == priced[c.AMOUNT_ORIGINAL]).cast("int64").sum()
        if has_original
        else priced.count()
    )
    per_currency = execute(
        priced.group_by(c.CURRENCY).aggregate(n=priced.count(), unchanged=unchanged)
    ).sort_values(c.CURRENCY)
    currencies = tuple(str(v) for v in per_currency[c.CURRENCY])
    if len(currencies) == 0:
        return Money(None)
    if len(currencies) == 1:
        return Money(currencies[0], currencies)
    kept = per_currency[per_currency["unchanged"] == per_currency["n"]]
    if len(kept) == len(per_currency) or not has_original:
        return Money(None, currencies, comparable=False)
    reporting_rows = kept[c.CURRENCY].tolist()
    return Money(str(reporting_rows[0]) if len(reporting_rows) == 1 else None, currencies)


def comparable_amounts(deals: ibis.Table, money: Money) -> ibis.Table:
    """The deals with ``amount`` set to null when amounts cannot be added up."""
    if money.comparable or c.AMOUNT not in deals.columns:
        return deals
    return deals.mutate(**{c.AMOUNT: ibis.null().cast(deals[c.AMOUNT].type())})
