"""Result columns of :mod:`analysis.marketing`, beside the data-model columns it reads.

``from analysis.marketing import columns as c`` gives both: every name of
:mod:`analysis.core.columns` and the columns only this question's results carry.
"""

from analysis.core.columns import *  # noqa: F403 (the data-model columns)

# --- the lead funnel: its steps, in order ---------------------------------------------
STEP = "step"
STEP_MQL = "mql"  # marketing qualified (mql_at)
STEP_ACCEPTED = "accepted"  # accepted by sales (accepted_at)
STEP_SQL = "sql"  # sales qualified (sql_at)
STEP_OPPORTUNITY = "opportunity"  # converted into a deal (converted_at, converted_deal_id)
STEP_WON = "won"  # the converted deal was won (deals.outcome)
FUNNEL_STEPS = (STEP_MQL, STEP_ACCEPTED, STEP_SQL, STEP_OPPORTUNITY, STEP_WON)

# --- lead funnel rows: one per (group, step) -----------------------------------------
N_REACHED = "reached"  # leads that reached the step (its time, or a later step's)
N_REJECTED = "rejected"  # disqualified or recycled at the step (a lost deal at opportunity)
N_WAITING = "waiting"  # neither advanced nor rejected at the cut-off: censored
FROM_MQL = "from_mql"  # share of MQLs expected to reach the step (product of conversions)
FROM_MQL_CI_LOW, FROM_MQL_CI_HIGH = "from_mql_ci_low", "from_mql_ci_high"
MEDIAN_DAYS = "median_days"  # Kaplan–Meier median days from the step to the next
MEDIAN_CI_LOW, MEDIAN_CI_HIGH = "median_ci_low", "median_ci_high"
N_TIMED = "timed"  # leads with a usable duration in the Kaplan–Meier fit
N_CENSORED = "censored"  # of which censored (waiting at the cut-off, or rejected)
TIME_NOTE = "time_note"  # message code of the time figures
EVENT = "event"  # duration tables: 1 = the event happened, 0 = censored
# Message codes.
NOTE_NO_LEADS = "no_leads"  # nobody reached the step in this group
NOTE_NO_DECIDED_LEADS = "no_decided_leads"  # leads reached the step, none is decided yet
NOTE_NO_DEALS_TABLE = "no_deals_table"  # opportunity -> won (loss reasons) need the deals table
NOTE_NO_EVENTS = "no_events"  # no lead advanced: no time to the next step
NOTE_MEDIAN_NOT_REACHED = "median_not_reached"  # under half advanced in the follow-up
NOTE_CI_OPEN_ABOVE = "median_ci_open_above"

# --- speed to lead --------------------------------------------------------------------
RESPONSE_BAND = "response_band"  # first-response delay band, e.g. "1-4 h"
HOURS = "hours"  # hours from MQL to first response
N_LEADS = "leads"  # accepted leads whose SQL step is decided
N_SQL = "sql"  # of which became an SQL
SQL_RATE = "sql_rate"
LOG2_HOURS = "log2_hours"  # log2 of the first-response delay in hours (rounded in the engine)
MODEL = "model"
STRATIFIED, UNADJUSTED = "stratified", "unadjusted"  # the two models of the trend
ODDS_RATIO = "odds_ratio"  # per doubling of the first-response delay
STRATA = "strata"  # strata used in the fit (with variation in the outcome)
N_AT_RISK = "n_at_risk"
SHARE_RESPONDED = "share_responded"  # Kaplan–Meier 1 - S(hours)
MEDIAN_HOURS = "median_hours"
NOTE_NO_STRATA = "no_strata"  # no `by`: the stratified model is the unadjusted one
NOTE_NO_TREND_DATA = "no_trend_data"  # too few leads or no variation to fit the trend

# --- feedback to marketing: reasons and themes, where they concentrate ------------------
KIND = "kind"  # which reasons: disqualification of a lead, or loss of its deal
KIND_DISQUALIFICATION = "disqualification"  # leads.disqualify_reason of disqualified leads
KIND_LOSS = "loss"  # deals.loss_reason of the lost deals converted leads became
REASON = "reason"
N_COUNT = "count"  # leads (or lost deals) giving the reason in the group
N_TOTAL = "total"  # the group's disqualified leads (or lost deals)
SHARE = "share"
CUMULATIVE_SHARE = "cumulative_share"  # the Pareto curve: share of this and larger reasons
COUNT_ELSEWHERE = "count_elsewhere"  # the same in all the other groups together
TOTAL_ELSEWHERE = "total_elsewhere"
SHARE_ELSEWHERE = "share_elsewhere"
ELSEWHERE_CI_LOW, ELSEWHERE_CI_HIGH = "elsewhere_ci_low", "elsewhere_ci_high"
CONCENTRATED = "concentrated"  # share above elsewhere, adjusted p-value below alpha
CONCENTRATED_IN = "concentrated_in"  # the groups a theme concentrates in, joined by ", "
THEME = "theme"
N_COMMENTS = "comments"
N_MENTIONS = "mentions"
# Message codes.
NOTE_NO_OTHER_GROUPS = "no_other_groups"  # one group only: nothing to compare it with
NOTE_NO_REASON_COLUMN = "no_reason_column"  # leads lack disqualify_reason / deals loss_reason
NOTE_NO_REASONS = "no_reasons"  # the column exists, no lead (deal) gave a reason
NOTE_NO_FEEDBACK_TABLE = "no_feedback_table"
NOTE_NO_FEEDBACK_FROM_LEADS = "no_feedback_from_leads"  # no comment on a converted lead's deal

# --- source quality: leads to pipeline to revenue, and CAC ----------------------------
N_MQL = "leads"  # MQLs of the group (leads that reached MQL, or a later step)
PIPELINE_AMOUNT = "pipeline_amount"  # amount of every deal created from them
REVENUE_PER_LEAD = "revenue_per_lead"  # won amount per MQL
REVENUE_CI_LOW, REVENUE_CI_HIGH = "revenue_ci_low", "revenue_ci_high"
WIN_CI_LOW, WIN_CI_HIGH = "win_ci_low", "win_ci_high"
CAC_NOTE = "cac_note"
NOTE_NO_MQLS = "no_mqls"
NOTE_WON_WITHOUT_AMOUNT = "won_without_amount"  # won deals without amount count as 0
NOTE_CAC_NEEDS_SOURCE = "cac_by_source_only"  # spend is recorded per channel, not per campaign
NOTE_NO_SPEND_TABLE = "no_spend_table"
# CAC per channel comes from analysis.team.acquisition: its columns, under its names.
from analysis.team.columns import (  # noqa: E402, F401 (re-exported)
    CAC,
    CAC_CI_HIGH,
    CAC_CI_LOW,
    NEW_CUSTOMERS,
    NOTE_NO_SPEND,
    SPEND_TOTAL,
)
