"""Planted parameters of what happens after the close (``orders``, ``subscriptions``,
``onboarding``).

:class:`AfterSalePlan` is referenced from :class:`~analysis.sample.params.Plan` as
``Plan.after_sale``; its draws come from a random stream of their own
(:mod:`analysis.sample.orders`, :mod:`analysis.sample.subscriptions`,
:mod:`analysis.sample.onboarding`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Share off list price a won B2B deal was sold at (``subscriptions.discount`` on the
# "new" row), and the chance of each level.
DISCOUNT_LEVELS: dict[float, float] = {0.0: 0.40, 0.1: 0.30, 0.2: 0.20, 0.3: 0.10}

# Days in a subscription month (a year of 365 days in 12 months).
MONTH_DAYS = 365.0 / 12.0

# Onboarding deal-size bands (AfterSalePlan.large_deal_share).
STANDARD, LARGE = "standard", "large"


@dataclass(frozen=True)
class AfterSalePlan:
    """What the customers do after the deal is won.

    Attributes
    ----------
    never_return : float
        B2C: chance that a customer never orders again after the first order
        (placed at the close of the won deal).
    repeat_rate_per_day : float
        B2C: mean rate of repeat orders per day of a returning customer; each
        customer's rate is gamma with shape ``repeat_rate_shape`` and this mean ...
    repeat_rate_shape : float
        ... (the heterogeneity between customers) ...
    repeat_source_factor : dict
        ... times this factor of the deal's lead source (the planted channel whose
        buyers repeat less is the one with the lowest factor). Gaps between orders
        are exponential with the customer's rate.
    repeat_amount_log_mean, repeat_amount_log_sd : float
        B2C: a repeat order's amount is the first order's times
        ``exp(N(repeat_amount_log_mean, repeat_amount_log_sd))``.
    window_days : float
        B2C: the window of "a second purchase within ``window_days`` of the first".
    discount_levels : dict
        B2B: discount of each won deal and its probability.
    churn_per_month : float
        B2B: monthly chance that a subscription churns (MRR to 0) ...
    deep_discount, deep_discount_churn_factor : float
        ... times ``deep_discount_churn_factor`` when the deal's discount is at
        least ``deep_discount`` (the discount level that predicts churn).
    expansion_per_month : dict
        B2B, per deal region: monthly chance of an expansion of a surviving
        subscription (the planted region with faster expansion has the highest).
    expansion_step : float
        MRR multiplier of an expansion is ``1 + expansion_step`` ...
    contraction_per_month, contraction_step : float
        ... of a contraction (monthly chance) ``1 - contraction_step``.
    renewal_months : int
        Every ``renewal_months`` months a surviving subscription renews (MRR
        unchanged; no expansion or contraction that month, churn still possible).
    kickoff_mean_days, kickoff_shape : float
        B2B onboarding (one per subscription): days from the close to the
        kick-off are gamma with this mean and shape.
    go_live_median_days : float
        Days from the kick-off to the go-live are lognormal with this median ...
    go_live_sigma : float
        ... and this standard deviation of their log ...
    large_deal_share, large_deal_go_live_factor : float
        ... times ``large_deal_go_live_factor`` for a large deal: one whose
        (USD) amount is above the ``1 - large_deal_share`` quantile of the won
        B2B deals' amounts (the top third by default: twice as long).
    """

    never_return: float = 0.35
    repeat_rate_per_day: float = 1.0 / 120.0
    repeat_rate_shape: float = 2.0
    repeat_source_factor: dict[str, float] = field(
        default_factory=lambda: {
            "inbound": 1.0,
            "outbound": 1.0,
            "referral": 1.0,
            "paid": 0.5,
            "events": 1.0,
        }
    )
    repeat_amount_log_mean: float = -0.3
    repeat_amount_log_sd: float = 0.4
    window_days: float = 180.0
    discount_levels: dict[float, float] = field(default_factory=lambda: dict(DISCOUNT_LEVELS))
    churn_per_month: float = 0.02
    deep_discount: float = 0.2
    deep_discount_churn_factor: float = 2.0
    expansion_per_month: dict[str, float] = field(
        default_factory=lambda: {
            "North America": 0.03,
            "EMEA": 0.08,
            "APAC": 0.03,
            "LATAM": 0.03,
        }
    )
    expansion_step: float = 0.25
    contraction_per_month: float = 0.02
    contraction_step: float = 0.2
    renewal_months: int = 12
    kickoff_mean_days: float = 7.0
    kickoff_shape: float = 2.0
    go_live_median_days: float = 30.0
    go_live_sigma: float = 0.5
    large_deal_share: float = 1.0 / 3.0
    large_deal_go_live_factor: float = 2.0

    def go_live_medians(self) -> dict[str, float]:
        """Planted median days from kick-off to go-live per deal size band."""
        return {
            STANDARD: self.go_live_median_days,
            LARGE: self.go_live_median_days * self.large_deal_go_live_factor,
        }
