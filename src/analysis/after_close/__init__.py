"""After the close: B2C repeat purchases, B2B retention and onboarding, and the sale behind them.

The one import of notebook ``08_after_the_close``::

    from analysis import after_close
    after_close.repeat_purchase(ws, by="channel").to_frame()
    after_close.revenue_retention(ws, by="region").to_frame()
    after_close.onboarding_time(ws, by="size_band").to_frame()
    after_close.value_after_sale(ws).to_frame()
    after_close.customer_value(ws).to_frame()
    after_close.first_year(ws, "B2B", "B2C").comparison  # also on page 05_b2b_vs_b2c

:mod:`.repeat` follows customers from the first order to the second
(Kaplan–Meier, customers not back censored) and gives cohort retention;
:mod:`.retention` gives gross and net revenue retention, logo churn, change
rates and renewals per cohort, segment or region; :mod:`.onboarding` the
time from won to go-live; :mod:`.value` relates the first year after the
close to how the deal was sold (adjusted odds ratios, association only);
:mod:`.lifetime` sets first-year value against CAC per channel (the CAC of
:mod:`analysis.team.acquisition`). :mod:`.rows`, :mod:`.customers` and
:mod:`.accounts` hold the engine expressions they share; :mod:`.findings`
says it in words and :mod:`.view` shapes tables and charts. Each analysis
raises :class:`~analysis.core.errors.MissingInput` without its table, so a
page can skip it with a sentence.
"""

from __future__ import annotations

from analysis.after_close import columns
from analysis.after_close.findings import (
    first_year_sentences,
    onboarding_sentences,
    repeat_sentences,
    retention_sentences,
    value_sentences,
    worth_sentences,
)
from analysis.after_close.first_year import FirstYear, first_year
from analysis.after_close.lifetime import CustomerValue, customer_value
from analysis.after_close.onboarding import OnboardingTime, onboarding_time
from analysis.after_close.repeat import RepeatPurchase, repeat_purchase
from analysis.after_close.retention import RevenueRetention, revenue_retention
from analysis.after_close.rows import post_sale_cutoff
from analysis.after_close.value import FACTORS, ValueAfterSale, value_after_sale
from analysis.after_close.view import (
    CHANGES_PERCENT,
    REPEAT_PERCENT,
    RETENTION_PERCENT,
    VALUE_PERCENT,
    WORTH_MONEY,
    cohort_grid,
    curve_chart,
    readable_changes,
    readable_onboarding,
    readable_repeat,
    readable_retention,
    readable_value,
    readable_worth,
    retention_chart,
)
from analysis.core.errors import MissingInput

__all__ = [
    "CHANGES_PERCENT",
    "FACTORS",
    "MissingInput",
    "REPEAT_PERCENT",
    "RETENTION_PERCENT",
    "VALUE_PERCENT",
    "WORTH_MONEY",
    "CustomerValue",
    "FirstYear",
    "OnboardingTime",
    "RepeatPurchase",
    "RevenueRetention",
    "ValueAfterSale",
    "cohort_grid",
    "columns",
    "curve_chart",
    "customer_value",
    "first_year",
    "first_year_sentences",
    "onboarding_sentences",
    "onboarding_time",
    "post_sale_cutoff",
    "readable_changes",
    "readable_onboarding",
    "readable_repeat",
    "readable_retention",
    "readable_value",
    "readable_worth",
    "repeat_purchase",
    "repeat_sentences",
    "retention_chart",
    "retention_sentences",
    "revenue_retention",
    "value_after_sale",
    "value_sentences",
    "worth_sentences",
]
