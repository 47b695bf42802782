"""Result columns of :mod:`analysis.team`, beside the data-model columns it reads.

``from analysis.team import columns as c`` gives both: every name of
:mod:`analysis.core.columns` and the columns only this question's results carry.
"""

from analysis.core.columns import *  # noqa: F403 (the data-model columns)

# --- rep performance, coaching, history, acquisition ---
TEAM_WIN_RATE = "team_win_rate"
SHRUNK_WIN_RATE = "shrunk_win_rate"
TENURE_MONTHS = "tenure_months"
REVENUE_PER_REP_MONTH = "revenue_per_rep_month"
AVG_WON_DEAL = "avg_won_deal"
MEDIAN_CYCLE_DAYS = "median_cycle_days"
MEDIAN_CYCLE_CI_LOW = "median_cycle_ci_low"
MEDIAN_CYCLE_CI_HIGH = "median_cycle_ci_high"
ACTIVITIES_PER_DEAL = "activities_per_deal"
FUNNEL_POSITION = "funnel_position"
LIMIT_LOW = "limit_low"
LIMIT_HIGH = "limit_high"
REP_CONVERSION = "rep_conversion"
TEAM_CONVERSION = "team_conversion"
FLAGGED = "flagged"
REVENUE_AT_STAKE = "revenue_at_stake_per_quarter"
NEW_CUSTOMERS = "new_customers"
SPEND_TOTAL = "spend"
CAC = "cac"
CAC_CI_LOW = "cac_ci_low"
CAC_CI_HIGH = "cac_ci_high"
PAYBACK_MONTHS = "payback_months"
OPEN_PIPELINE = "open_pipeline"
REVENUE_TARGET = "revenue_target"
COVERAGE = "coverage"
NOTE_NO_NEW_CUSTOMERS = "spend_but_no_new_customers"
NOTE_NO_SPEND = "no_spend_rows"
NOTE_NO_TENURE = "no_tenure"
NOTE_TOO_FEW_DECIDED = "too_few_decided"
