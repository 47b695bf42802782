"""Result columns of :mod:`analysis.after_close`, beside the data-model columns it reads.

``from analysis.after_close import columns as c`` gives both: every name of
:mod:`analysis.core.columns` and the columns only this question's results carry.
"""

from analysis.core.columns import *  # noqa: F403 (the data-model columns)

# --- groups every after-the-close result can be cut by ------------------------------
COHORT = "cohort"  # calendar month or quarter of the first order / subscription start
CHANNEL = "channel"  # lead source of the deal that won the customer
GROUP = "group"  # comparison rows: the group compared with the rest

# --- repeat purchases (B2C) ----------------------------------------------------------
N_CUSTOMERS = "customers"
N_REPEAT = "repeat_customers"  # customers with a second order by the cut-off
N_ORDERS = "orders"
HORIZON_DAYS = "horizon_days"  # "a second purchase within this many days"
REPEAT_RATE = "repeat_rate"  # Kaplan–Meier chance of a second order within horizon_days
REPEAT_CI_LOW, REPEAT_CI_HIGH = "repeat_ci_low", "repeat_ci_high"
MEDIAN_DAYS = "median_days"  # Kaplan–Meier median days to the second order
MEDIAN_CI_LOW, MEDIAN_CI_HIGH = "median_ci_low", "median_ci_high"
MONTHS_SINCE = "months_since"  # whole months since the first order / the start
ACTIVE = "active"  # customers of the cohort who ordered in that month
AT_RISK = "observed"  # customers of the cohort whose month has fully passed
ACTIVE_RATE = "active_rate"
ACTIVE_CI_LOW, ACTIVE_CI_HIGH = "active_ci_low", "active_ci_high"
EVENT = "event"  # duration tables: 1 = the event happened, 0 = censored
SURVIVAL = "survival"  # Kaplan–Meier curve: chance of no second order / not yet live

# --- revenue retention (B2B) ---------------------------------------------------------
N_ACCOUNTS = "accounts"  # accounts whose subscription started ("new") in the data
N_OBSERVED = "observed"  # of which started at least horizon_months before the cut-off
MRR_START = "mrr_start"  # their MRR at the start, summed
MRR_END = "mrr_end"  # their MRR horizon_months later, summed
GRR = "grr"  # gross revenue retention: sum(min(end, start)) / sum(start)
GRR_CI_LOW, GRR_CI_HIGH = "grr_ci_low", "grr_ci_high"
NRR = "nrr"  # net revenue retention: sum(end) / sum(start)
NRR_CI_LOW, NRR_CI_HIGH = "nrr_ci_low", "nrr_ci_high"
N_CHURNED = "churned"  # observed accounts that churned within the horizon
LOGO_CHURN = "logo_churn"  # churned / observed
LOGO_CHURN_CI_LOW, LOGO_CHURN_CI_HIGH = "logo_churn_ci_low", "logo_churn_ci_high"
ACCOUNT_MONTHS = "account_months"  # months lived by the accounts up to churn or cut-off
CHANGE = "change"  # expansion, contraction or churn
N_EVENTS = "events"
PER_MONTH = "per_month"  # events per account-month
PER_MONTH_CI_LOW, PER_MONTH_CI_HIGH = "per_month_ci_low", "per_month_ci_high"
RENEWALS_DUE = "renewals_due"  # anniversaries passed with the account live a month before
RENEWED = "renewed"  # of which the account was still live at the anniversary
RENEWAL_RATE = "renewal_rate"
RENEWAL_CI_LOW, RENEWAL_CI_HIGH = "renewal_ci_low", "renewal_ci_high"
NOT_CONVERTIBLE = "not_convertible"  # rows whose money could not be put in one currency

# --- comparisons (one group against the rest, or two sides) -------------------------
MEASURE = "measure"
VALUE, VALUE_REST = "value", "value_rest"
DIFFERENCE = "difference"
DIFF_CI_LOW, DIFF_CI_HIGH = "diff_ci_low", "diff_ci_high"
P_VALUE = "p_value"
P_ADJUSTED = "p_adjusted"  # Holm over the rows of the table
SIGNIFICANT = "significant"

# --- onboarding ----------------------------------------------------------------------
N_WON = "won_deals"  # won deals with an onboarding row
N_LIVE = "live"  # of which live by the cut-off
LIVE_RATE = "live_rate"  # Kaplan–Meier chance of being live within horizon_days
LIVE_CI_LOW, LIVE_CI_HIGH = "live_ci_low", "live_ci_high"
SIZE_BAND = "size_band"  # third of won deal amounts: small, middle, large

# --- value a year after the close, against how the deal was sold ---------------------
FACTOR = "factor"  # source, discount, cycle, skipped_stages, owner_id
LEVEL = "level"
REFERENCE = "reference"  # the level the odds ratio compares with
N_DEALS = "deals"
OUTCOME_RATE = "outcome_rate"  # raw share with the outcome at this level
RATE_CI_LOW, RATE_CI_HIGH = "rate_ci_low", "rate_ci_high"
ODDS_RATIO = "odds_ratio"  # adjusted for segment (or region) and deal size
OR_CI_LOW, OR_CI_HIGH = "or_ci_low", "or_ci_high"
MEASURE_REPEAT = "repeat_within_year"  # B2C: a second order within 365 days of the close
MEASURE_CHURN = "churn_within_year"  # B2B: churned within 365 days of the start
CYCLE_DAYS = "cycle_days"
SKIPPED_STAGES = "skipped_stages"
FACTOR_CYCLE = "cycle_doubling"  # the odds ratio per doubling of the sales cycle
FACTOR_SKIPPED = "skipped_stages"  # a stage skipped (yes against no)

# --- lifetime value against acquisition cost -----------------------------------------
VALUE_FIRST_YEAR = "first_year_value"  # revenue per customer in the year after the close
VALUE_CI_LOW, VALUE_CI_HIGH = "value_ci_low", "value_ci_high"
GROSS_MARGIN = "gross_margin"
CAC = "cac"
CAC_CI_LOW, CAC_CI_HIGH = "cac_ci_low", "cac_ci_high"
# The observed first-year lifetime value (a floor of the whole lifetime's) over CAC.
VALUE_TO_CAC = "first_year_value_to_cac"  # gross margin x first-year value / CAC
VALUE_TO_CAC_CI_LOW = "first_year_value_to_cac_ci_low"
VALUE_TO_CAC_CI_HIGH = "first_year_value_to_cac_ci_high"

# --- message codes ---------------------------------------------------------------------
NOTE = "note"
NOTE_NONE_OBSERVED = "none_observed_long_enough"  # no customer or account old enough yet
NOTE_NO_EVENTS = "no_events"  # nobody came back / went live
NOTE_MEDIAN_NOT_REACHED = "median_not_reached"
NOTE_NO_SPEND = "no_spend_rows"
NOTE_NO_MONEY = "amounts_not_comparable"  # currencies without a rate
NOTE_TOO_FEW = "too_few"  # too few deals to fit or compare
