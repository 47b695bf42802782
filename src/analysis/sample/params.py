"""The planted parameters of the synthetic CRM: every number the generator uses.

Everything an analysis is later tested against starts here, and all of it is
copied into ``truth.json`` (:mod:`analysis.sample.truth`). Stage-dependent
values are written for the six open stages of the default pipeline and
interpolated over relative stage position when a pipeline has another number
of stages, so no stage name appears in the generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.core import columns as c
from analysis.sample.after_sale_params import AfterSalePlan

# Open-stage positions of the default pipeline, used by the profiles below.
PROFILE_STAGES = 6

# Loss reasons and feedback themes are lower-case canonical words (data model).
PRICE = "price"
TIMING = "timing"
MISSING_FEATURE = "missing feature"
CHAMPION_LEFT = "champion left"
COMPETITOR_REASON = "competitor"
NO_DECISION = "no decision"
IMPLEMENTATION = "implementation effort"
SUPPORT = "support"
EASE_OF_USE = "ease of use"
LOSS_REASONS: tuple[str, ...] = (
    PRICE,
    TIMING,
    MISSING_FEATURE,
    CHAMPION_LEFT,
    COMPETITOR_REASON,
    NO_DECISION,
    IMPLEMENTATION,
)
"""Canonical loss reasons (values of ``deals.loss_reason``), in the order of
``truth["loss_reasons"]["values"]``; the CRM export writes them title-cased."""

THEMES: tuple[str, ...] = (
    PRICE,
    TIMING,
    MISSING_FEATURE,
    CHAMPION_LEFT,
    COMPETITOR_REASON,
    IMPLEMENTATION,
    SUPPORT,
    EASE_OF_USE,
)
"""Canonical feedback themes, in the order of ``truth["feedback"]["themes"]``. Every
planted comment phrase contains its theme's name literally, so a keyword tagger
recovers them; a lost deal's loss reason is often its comment's first theme."""

REGIONS = ("North America", "EMEA", "APAC", "LATAM")


@dataclass(frozen=True)
class SegmentPlan:
    """Planted parameters of one customer segment.

    Attributes
    ----------
    share : float
        Expected share of all deals.
    conversion : tuple of float
        Probability that a *reference deal* advances from each open stage
        (six-stage profile; see :attr:`Plan.reference_deal`).
    stage_median_days, duration_sigma : tuple of float, float
        Time in each open stage before the decision: lognormal with these
        medians (days) for the reference number of decision makers.
    amount_median, amount_sigma : float
        Lognormal deal amount in USD for the reference number of decision makers.
    dm_min, dm_extra_trials, dm_extra_p, dm_reference : int, int, float, int
        ``n_decision_makers = dm_min + Binomial(dm_extra_trials, dm_extra_p)``;
        effects are measured from ``dm_reference``.
    source_mix : dict
        Share of each lead source in the segment.
    competitor_share : float
        Share of deals with a competitor involved.
    qual_prevalence : dict
        Probability that each qualification flag is true.
    weekend_factor : float
        Relative creation intensity on Saturdays and Sundays.
    products : dict
        Product mix.
    """

    share: float
    conversion: tuple[float, ...]
    stage_median_days: tuple[float, ...]
    duration_sigma: float
    amount_median: float
    amount_sigma: float
    dm_min: int
    dm_extra_trials: int
    dm_extra_p: float
    dm_reference: int
    source_mix: dict[str, float]
    competitor_share: float
    qual_prevalence: dict[str, float]
    weekend_factor: float
    products: dict[str, float]


B2B_PLAN = SegmentPlan(
    share=0.40,
    conversion=(0.62, 0.80, 0.82, 0.80, 0.78, 0.82),
    stage_median_days=(6.0, 9.0, 16.0, 18.0, 20.0, 22.0),
    duration_sigma=0.55,
    amount_median=25_000.0,
    amount_sigma=0.75,
    dm_min=2,
    dm_extra_trials=6,
    dm_extra_p=0.35,
    dm_reference=4,
    source_mix={"inbound": 0.28, "outbound": 0.32, "referral": 0.15, "paid": 0.10, "events": 0.15},
    competitor_share=0.45,
    qual_prevalence={
        c.QUAL_BUDGET: 0.60,
        c.QUAL_AUTHORITY: 0.55,
        c.QUAL_NEED: 0.70,
        c.QUAL_TIMELINE: 0.50,
    },
    weekend_factor=0.15,
    products={"Platform Team": 0.45, "Platform Enterprise": 0.35, "Analytics Add-on": 0.20},
)

B2C_PLAN = SegmentPlan(
    share=0.60,
    conversion=(0.55, 0.84, 0.86, 0.85, 0.82, 0.88),
    stage_median_days=(0.8, 1.2, 1.6, 2.0, 2.4, 2.6),
    duration_sigma=0.65,
    amount_median=800.0,
    amount_sigma=0.55,
    dm_min=1,
    dm_extra_trials=1,
    dm_extra_p=0.12,
    dm_reference=1,
    source_mix={"inbound": 0.35, "outbound": 0.05, "referral": 0.15, "paid": 0.40, "events": 0.05},
    competitor_share=0.15,
    qual_prevalence={
        c.QUAL_BUDGET: 0.50,
        c.QUAL_AUTHORITY: 0.90,
        c.QUAL_NEED: 0.70,
        c.QUAL_TIMELINE: 0.60,
    },
    weekend_factor=0.70,
    products={"Personal": 0.50, "Family": 0.35, "Premium": 0.15},
)


# Forecast categories a rep's deal carries (values of ``deals.forecast_category``).
PIPELINE_CATEGORY = "Pipeline"
BEST_CASE = "Best Case"
COMMIT = "Commit"
CLOSED_CATEGORY = "Closed"  # won
OMITTED = "Omitted"  # lost


@dataclass(frozen=True)
class HistoryPlan:
    """Planted parameters of the deal change history (``deal_changes``).

    Attributes
    ----------
    planned_cycle_factor, planned_cycle_sigma : float
        At creation a deal's expected close is the end of the day of
        ``created + cycle``, cycle lognormal with median ``factor`` times the sum
        of the segment's stage medians (reps plan shorter cycles than deals take).
    push_probability : dict
        Per segment: the chance that an average rep pushes the expected close
        when it passes while the deal is open (for a deal that does not end lost).
        A date not pushed when it passes stays as it is (stale) until the close.
    push_days : dict
        Per segment: a push moves the date by uniform whole days in this range.
    push_delay_days : tuple of float
        A push comes this long (uniform) after the date passed; none if the deal
        closed in between.
    rep_push_sd : float
        Standard deviation of each rep's log-odds shift of pushing.
    heavy_pusher_odds : float
        Odds multiplier of pushing for one named rep (on top of the rep's shift).
    lost_push_odds : float
        Odds multiplier of pushing for a deal that ends lost (a stalling deal slips).
    amount_change_share, amount_second_change_share : float
        Share of deals (open at least ``amount_min_life_days``) whose amount
        changes while open, and share of those that change it twice.
    amount_change_range : tuple of float
        Each change multiplies the amount by ``1 ± uniform(low, high)``.
    optimism_odds : float
        At each stage entry the rep sets the stage's true chance of ending won
        with its odds times this, times the rep's own factor.
    rep_optimism_sd : float
        Standard deviation of each rep's log-odds shift of that probability.
    probability_range : tuple of float
        Rep-entered probabilities of open deals are clipped to this range.
    forecast_bands : dict
        Lower bound of the probability of each forecast category above Pipeline.
    """

    planned_cycle_factor: float = 0.7
    planned_cycle_sigma: float = 0.35
    push_probability: dict[str, float] = field(default_factory=lambda: {c.B2B: 0.45, c.B2C: 0.2})
    push_days: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {c.B2B: (14, 45), c.B2C: (7, 21)}
    )
    push_delay_days: tuple[float, float] = (0.0, 3.0)
    rep_push_sd: float = 0.25
    heavy_pusher_odds: float = 8.0
    lost_push_odds: float = 2.5
    amount_change_share: float = 0.25
    amount_second_change_share: float = 0.4
    amount_change_range: tuple[float, float] = (0.03, 0.2)
    amount_min_life_days: float = 1.0 / 24.0
    optimism_odds: float = 1.8
    rep_optimism_sd: float = 0.15
    probability_range: tuple[float, float] = (0.01, 0.95)
    forecast_bands: dict[str, float] = field(default_factory=lambda: {BEST_CASE: 0.4, COMMIT: 0.7})


# Marketing campaigns of each lead source (values of ``leads.campaign``) and their mix.
LEAD_CAMPAIGNS: dict[str, dict[str, float]] = {
    "inbound": {
        "Website Demo Request": 0.40,
        "Pricing Page": 0.25,
        "Webinar Series": 0.20,
        "Ebook Download": 0.15,
    },
    "outbound": {
        "Enterprise Sequence": 0.50,
        "Mid-Market Sequence": 0.30,
        "Reactivation Sequence": 0.20,
    },
    "referral": {"Customer Referral": 0.60, "Partner Program": 0.40},
    "paid": {
        "Search Brand": 0.25,
        "Search Generic": 0.30,
        "Social Ads": 0.30,
        "Display Retargeting": 0.15,
    },
    "events": {"Annual Summit": 0.40, "Trade Show": 0.35, "Regional Roadshow": 0.25},
}

# Why sales disqualifies a lead (values of ``leads.disqualify_reason``, in the CRM's
# words) and the share of each among disqualifications outside the planted campaign.
NO_BUDGET = "No budget"
DISQUALIFY_REASONS: dict[str, float] = {
    NO_BUDGET: 0.15,
    "Wrong fit": 0.25,
    "No response": 0.22,
    "Bad contact data": 0.12,
    "Bad timing": 0.12,
    "Student or personal use": 0.08,
    "Already a customer": 0.06,
}


@dataclass(frozen=True)
class LeadPlan:
    """Planted parameters of the lead funnel (``leads``): MQL -> accepted -> SQL -> deal.

    Attributes
    ----------
    acceptance : dict
        Per source: the chance that sales accepts an MQL (the planted
        low-acceptance source is the one with the lowest value).
    sql_rate : dict
        Per segment: the chance that an accepted lead of average fit answered
        after ``reference_response_hours`` becomes an SQL.
    sql_fit_log_odds : float
        Log-odds of becoming an SQL per SD of the lead's latent fit.
    response_odds_per_doubling : float
        Odds multiplier of becoming an SQL per doubling of the first-response delay
        (the conditional effect, fit held fixed).
    reference_response_hours : float
        The delay at which ``sql_rate`` applies.
    response_median_hours, response_source_factor : dict
        First-response delay (hours after MQL) is lognormal with median
        ``response_median_hours[segment] * response_source_factor[source]`` for a
        lead of average fit ...
    response_fit_log : float
        ... times ``exp(-response_fit_log * fit)``: better leads are answered faster
        (the confounding of a naive speed-to-lead comparison) ...
    response_sigma : float
        ... and log standard deviation ``response_sigma`` around that.
    opportunity_rate : float
        Chance that an SQL becomes a deal (the rest are disqualified).
    recycle_share : tuple of float
        Share of the leads that fail at acceptance, SQL and opportunity that go
        back to marketing (recycled, no reason) instead of being disqualified.
    campaigns : dict
        Per source: the campaign mix.
    disqualify_reasons : dict
        Reason mix of disqualifications outside ``concentrated_campaign``.
    concentrated_campaign, concentrated_reason, concentrated_share : str, str, float
        In this campaign the reason takes this share of disqualifications (the
        other reasons keep their relative weights).
    step_median_days : dict
        Per segment: median days (lognormal) from creation to MQL, from the first
        response to the acceptance decision, from acceptance to the SQL decision,
        and from SQL to the opportunity decision (the deal's creation).
    step_sigma : float
        Log standard deviation of those step durations.
    tail_days : float
        Leads whose deal would be created up to this long after the cutoff are
        drawn too (they are waiting at the cutoff).
    """

    acceptance: dict[str, float] = field(
        default_factory=lambda: {
            "inbound": 0.75,
            "outbound": 0.65,
            "referral": 0.85,
            "paid": 0.35,
            "events": 0.60,
        }
    )
    sql_rate: dict[str, float] = field(default_factory=lambda: {c.B2B: 0.55, c.B2C: 0.60})
    sql_fit_log_odds: float = 0.8
    response_odds_per_doubling: float = 0.7
    reference_response_hours: float = 4.0
    response_median_hours: dict[str, float] = field(
        default_factory=lambda: {c.B2B: 4.0, c.B2C: 2.0}
    )
    response_source_factor: dict[str, float] = field(
        default_factory=lambda: {
            "inbound": 1.0,
            "outbound": 0.7,
            "referral": 0.5,
            "paid": 2.0,
            "events": 1.5,
        }
    )
    response_fit_log: float = 0.6
    response_sigma: float = 1.1
    opportunity_rate: float = 0.88
    recycle_share: tuple[float, float, float] = (0.3, 0.5, 0.0)
    campaigns: dict[str, dict[str, float]] = field(default_factory=lambda: LEAD_CAMPAIGNS)
    disqualify_reasons: dict[str, float] = field(default_factory=lambda: DISQUALIFY_REASONS)
    concentrated_campaign: str = "Social Ads"
    concentrated_reason: str = NO_BUDGET
    concentrated_share: float = 0.60
    step_median_days: dict[str, tuple[float, float, float, float]] = field(
        default_factory=lambda: {c.B2B: (1.5, 1.0, 8.0, 3.0), c.B2C: (0.2, 0.25, 1.5, 0.5)}
    )
    step_sigma: float = 0.8
    tail_days: float = 120.0


@dataclass(frozen=True)
class Plan:
    """Every planted parameter of the generator (defaults are the shipped truth).

    Stage positions (``*_stage_index``) count open stages from 0; negative
    values count from the end, as in Python indexing.
    """

    segments: dict[str, SegmentPlan] = field(
        default_factory=lambda: {c.B2B: B2B_PLAN, c.B2C: B2C_PLAN}
    )
    history_days: int = 730
    growth: float = 0.6  # creation intensity rises linearly by this fraction over the period
    region_mix: dict[str, float] = field(
        default_factory=lambda: {"North America": 0.45, "EMEA": 0.30, "APAC": 0.15, "LATAM": 0.10}
    )
    # Lead source: multiplier on the odds of advancing, at the first `source_stages` stages.
    source_odds: dict[str, float] = field(
        default_factory=lambda: {
            "inbound": 1.0,
            "outbound": 0.7,
            "referral": 1.6,
            "paid": 0.8,
            "events": 0.9,
        }
    )
    source_stages: int = 3
    # Qualification flags: log-odds effect of a *false* flag (reference deal: all true),
    # at every stage from `qual_from_stage` on (flags are recorded from that stage on).
    qual_log_odds: dict[str, float] = field(
        default_factory=lambda: {
            c.QUAL_BUDGET: 0.45,
            c.QUAL_AUTHORITY: 0.35,
            c.QUAL_NEED: 0.60,
            c.QUAL_TIMELINE: 0.25,
        }
    )
    qual_from_stage: int = 1
    # Latent fit z ~ N(0, 1): log-odds per SD at every stage; lead score measures it.
    fit_log_odds: float = 0.25
    lead_score_center: float = 55.0
    lead_score_per_sd: float = 15.0
    lead_score_noise_sd: float = 10.0
    lead_score_source_offset: dict[str, float] = field(
        default_factory=lambda: {
            "inbound": 0.0,
            "outbound": -5.0,
            "referral": 8.0,
            "paid": -3.0,
            "events": 2.0,
        }
    )
    # Decision makers: log-odds per extra decision maker (from the segment's reference),
    # at every stage from `qual_from_stage` on; log duration multiplier per extra one.
    dm_log_odds: float = -0.12
    dm_log_duration: float = 0.10
    dm_log_amount: float = 0.15
    rep_skill_sd: float = 0.25
    weakness_odds: float = 0.40
    weakness_stage_index: int = 3
    competitors: dict[str, float] = field(
        default_factory=lambda: {
            "Acme Cloud": 0.35,
            "Northwind": 0.30,
            "Globex": 0.20,
            "Initech": 0.15,
        }
    )
    competitor_odds: dict[str, float] = field(
        default_factory=lambda: {
            "Acme Cloud": 0.55,
            "Northwind": 0.80,
            "Globex": 1.00,
            "Initech": 1.35,
        }
    )
    competitor_from_stage: int = -2  # odds effect applies at this stage and later
    competitor_known_from_stage: int = 2  # column filled once the deal reached this stage
    skip_rate: float = 0.03
    backward_rate: float = 0.02
    reentry_rate: float = 0.02
    min_duration_days: float = 5.0 / 1440.0
    bottleneck_segment: str = c.B2B
    bottleneck_stage_index: int = -2
    bottleneck_odds: float = 0.35
    # Experiment 1: email template at qualification, per deal, 50/50, window in days before cutoff.
    email_experiment_id: str = "email_template_q"
    email_stage_index: int = 1
    email_window_days: tuple[float, float] = (300.0, 120.0)
    email_treatment_odds: float = 1.40
    reply_rate: dict[str, float] = field(
        default_factory=lambda: {"A": 0.20, "B": 0.26, "other": 0.18}
    )
    # Experiment 2: call script at discovery, per rep (stratified by team), no effect.
    call_experiment_id: str = "call_script_d"
    call_stage_index: int = 2
    call_window_days: tuple[float, float] = (240.0, 60.0)
    connect_rate: float = 0.42
    currency_mix_emea: dict[str, float] = field(
        default_factory=lambda: {"USD": 0.30, "EUR": 0.50, "GBP": 0.20}
    )
    rates_to_usd: dict[str, float] = field(
        default_factory=lambda: {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}
    )
    deals_per_b2b_account: float = 1.6
    # Deal change history (deal_changes); drawn from its own random stream.
    history: HistoryPlan = field(default_factory=HistoryPlan)
    # Leads before the deals (leads); drawn from their own random stream.
    leads: LeadPlan = field(default_factory=LeadPlan)
    # After the close: B2C repeat orders and B2B subscriptions (orders, subscriptions);
    # drawn from their own random stream.
    after_sale: AfterSalePlan = field(default_factory=AfterSalePlan)


def stage_profile(values: tuple[float, ...], n_stages: int) -> np.ndarray:
    """Interpolate a six-stage profile to ``n_stages`` open stages by relative position."""
    src = np.linspace(0.0, 1.0, len(values))
    dst = np.linspace(0.0, 1.0, n_stages)
    return np.interp(dst, src, np.asarray(values, dtype=float))


def stage_index(index: int, n_stages: int) -> int:
    """Resolve a possibly negative stage position against ``n_stages`` open stages."""
    resolved = index % n_stages if index < 0 else index
    if not 0 <= resolved < n_stages:
        raise ValueError(
            f"Stage position {index} does not exist in a pipeline of {n_stages} "
            "open stages; the sample generator needs at least 4 open stages."
        )
    return resolved


def logit(p: np.ndarray | float) -> np.ndarray:
    """Log-odds ``log(p / (1 - p))``."""
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def expit(x: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`logit`."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))
