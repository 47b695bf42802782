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
NOTE_NO_DEALS_TABLE = "no_deals_table"  # opportunity -> won needs the deals table
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
