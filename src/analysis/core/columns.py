"""Column names, table names and category values of the canonical data model.

Every function refers to a column through these constants, never a string
literal, so a renamed column changes in one place. ``docs/data-model.md``
describes each one.
"""

from __future__ import annotations

# --- table names (also the file stems ingest looks for) -----------------------
DEALS = "deals"
STAGE_EVENTS = "stage_events"
ACTIVITIES = "activities"
ASSIGNMENTS = "assignments"
REPS = "reps"
SPEND = "spend"
FEEDBACK = "feedback"
TABLES = (DEALS, STAGE_EVENTS, ACTIVITIES, ASSIGNMENTS, REPS, SPEND, FEEDBACK)

# --- deals ----------------------------------------------------------------------
DEAL_ID = "deal_id"
CREATED_AT = "created_at"
OUTCOME = "outcome"
AMOUNT = "amount"
SEGMENT = "segment"
CLOSED_AT = "closed_at"
CURRENCY = "currency"
AMOUNT_ORIGINAL = "amount_original"
PIPELINE = "pipeline"
STAGE = "stage"  # deals: current stage at export; stage_events: the stage entered
SOURCE = "source"  # deals: lead channel; feedback: who commented
OWNER_ID = "owner_id"
ACCOUNT_ID = "account_id"
PRODUCT = "product"
REGION = "region"
N_DECISION_MAKERS = "n_decision_makers"
LOSS_REASON = "loss_reason"
COMPETITOR = "competitor"
QUAL_BUDGET = "qual_budget"
QUAL_AUTHORITY = "qual_authority"
QUAL_NEED = "qual_need"
QUAL_TIMELINE = "qual_timeline"
LEAD_SCORE = "lead_score"
QUALIFICATION_FIELDS = (QUAL_BUDGET, QUAL_AUTHORITY, QUAL_NEED, QUAL_TIMELINE, LEAD_SCORE)

# --- stage_events ---------------------------------------------------------------
ENTERED_AT = "entered_at"
DERIVED = "derived"  # True when ingest inferred the event from a current stage

# --- activities -----------------------------------------------------------------
AT = "at"
ACTIVITY_TYPE = "type"
REP_ID = "rep_id"
TEMPLATE_ID = "template_id"
SCRIPT_ID = "script_id"
REPLIED = "replied"
CONNECTED = "connected"

# --- assignments ----------------------------------------------------------------
EXPERIMENT_ID = "experiment_id"
UNIT_ID = "unit_id"
UNIT_TYPE = "unit_type"
VARIANT = "variant"
ASSIGNED_AT = "assigned_at"
# assignments also carry STAGE: the stage the treatment applies at

# --- reps -----------------------------------------------------------------------
NAME = "name"
TEAM = "team"
HIRED_AT = "hired_at"
QUOTA = "quota"
# reps also carry REP_ID and REGION

# --- spend ----------------------------------------------------------------------
PERIOD = "period"
CHANNEL = "channel"
SALES_COST = "sales_cost"
MARKETING_COST = "marketing_cost"

# --- feedback -------------------------------------------------------------------
TEXT = "text"
COLLECTED_AT = "collected_at"
RATING = "rating"
# feedback also carries DEAL_ID and SOURCE (customer/rep)

# --- category values ------------------------------------------------------------
WON = "won"
LOST = "lost"
OPEN = "open"
OUTCOMES = (WON, LOST, OPEN)

B2B = "B2B"
B2C = "B2C"
SEGMENTS = (B2B, B2C)

EMAIL = "email"
CALL = "call"
MEETING = "meeting"
ACTIVITY_TYPES = (EMAIL, CALL, MEETING)

UNIT_DEAL = "deal"
UNIT_ACCOUNT = "account"
UNIT_REP = "rep"
UNIT_TYPES = (UNIT_DEAL, UNIT_ACCOUNT, UNIT_REP)

FEEDBACK_CUSTOMER = "customer"
FEEDBACK_REP = "rep"
FEEDBACK_SOURCES = (FEEDBACK_CUSTOMER, FEEDBACK_REP)

LEAD_SOURCES = ("inbound", "outbound", "referral", "paid", "events")

# --- ingest bookkeeping -----------------------------------------------------------
REASON = "reason"  # quarantine: reason code
SOURCE_FILE = "source_file"  # quarantine: file the row came from
SOURCE_ROW = "source_row"  # quarantine: 1-based data row in that file
RAW_LINE = "raw_line"  # quarantine: the whole text line of a malformed (ragged) row

# --- result tables (metric outputs shared across modules) -------------------------
N_DEALS = "deals"
N_WON = "won"
N_LOST = "lost"
N_OPEN = "open"
OPEN_SHARE = "open_share"
WIN_RATE = "win_rate"
CI_LOW = "ci_low"
CI_HIGH = "ci_high"
NOTE = "note"  # message code when a figure could not be computed (NaN beside it)
MONTH = "month"
AMOUNT_TOTAL = "amount_total"
WON_AMOUNT = "won_amount"

# Message codes in NOTE columns.
NOTE_NO_CLOSED_DEALS = "no_closed_deals"

# --- ingest manifest keys -----------------------------------------------------------
ROWS_IN = "rows_in"
ROWS_CLEAN = "rows_clean"
ROWS_QUARANTINED = "rows_quarantined"
QUARANTINE_REASONS = "quarantine_reasons"

# --- funnel results -----------------------------------------------------------------
# Per (deal, stage) flags of analysis.engine.reach.deal_stage_reach.
REACHED = "reached"
HAS_ENTRY = "has_entry"  # at least one recorded stage_events row for the stage
N_ENTRIES = "entries"
STAGE_ENTERED_AT = "stage_entered_at"  # first entry (implied stages: first later entry)
IS_ADVANCED = "is_advanced"
IS_LOST_HERE = "is_lost_here"
IS_REGRESSED = "is_regressed"
IS_STILL_OPEN = "is_still_open"
IS_SKIPPED = "is_skipped"
IS_REENTERED = "is_reentered"
IS_MOVED_BACK = "is_moved_back"
# Stage accounting and conversion tables.
N_ENTERED = "entered"
N_ADVANCED = "advanced"
N_LOST_HERE = "lost_here"
N_REGRESSED = "regressed"
N_STILL_OPEN = "still_open"
N_SKIPPED = "skipped"
N_REENTERED = "reentered"
N_MOVED_BACK = "moved_back"
CONVERSION = "conversion"
CUMULATIVE_CONVERSION = "cumulative_conversion"
CUMULATIVE_CI_LOW = "cumulative_ci_low"
CUMULATIVE_CI_HIGH = "cumulative_ci_high"
MATURE = "mature"
# Win rates by count and amount.
N_CLOSED = "closed"
LOST_AMOUNT = "lost_amount"
N_CLOSED_WITH_AMOUNT = "closed_with_amount"
AMOUNT_WIN_RATE = "amount_win_rate"
AMOUNT_CI_LOW = "amount_ci_low"
AMOUNT_CI_HIGH = "amount_ci_high"
# Options.
REACH_IMPLIED = "implied"
REACH_OBSERVED = "observed"
COHORT_CREATED = "created"
COHORT_STAGE_ENTRY = "stage_entry"
PERIOD_MONTH = "month"
PERIOD_QUARTER = "quarter"
# Message codes in NOTE columns (besides NOTE_NO_CLOSED_DEALS).
NOTE_NO_ENTRIES = "no_entries"  # nobody reached the stage in this group and period
NOTE_NO_DECIDED = "no_decided_deals"  # deals entered, but none advanced or was lost yet
NOTE_IMMATURE = "immature"  # the share still open at the stage exceeds the threshold
NOTE_TOO_FEW_AMOUNTS = "too_few_closed_amounts"  # amount interval needs two closed amounts

# --- experiments ----------------------------------------------------------------------
# Per-unit table of analysis.experiments.resolve (one row per deal in the test).
CONVERTED = "converted"  # 1 converted, 0 not (lost before converting); missing = undecided
DECIDED = "decided"  # converted, or closed without converting
CLUSTER = "cluster"  # randomisation unit the deal belongs to (rep, account or the deal)
STARTED_AT = "started_at"  # when the deal entered the test (entry into the treated stage)
CONVERTED_AT = "converted_at"
DAYS = "days"  # days from started_at to conversion, or to the data cutoff (censored)
# Per-variant comparison tables.
N_UNITS = "n"
N_CONVERSIONS = "conversions"
RATE = "rate"
RATE_CI_LOW = "rate_ci_low"
RATE_CI_HIGH = "rate_ci_high"
DIFF_CI_LOW = "diff_ci_low"
DIFF_CI_HIGH = "diff_ci_high"
LIFT = "lift"
LIFT_CI_LOW = "lift_ci_low"
LIFT_CI_HIGH = "lift_ci_high"
STATISTIC = "statistic"
P_VALUE = "p_value"
P_ADJUSTED = "p_adjusted"
METHOD = "method"
IS_CONTROL = "is_control"
N_CLUSTERS = "clusters"
# Message codes of experiment results.
NOTE_SINGLE_VARIANT = "single_variant"
NOTE_EMPTY_VARIANT = "empty_variant"
NOTE_NO_VARIATION = "no_variation"  # all units converted, or none did
NOTE_NON_BINARY = "non_binary_outcome"
NOTE_BEFORE_PLANNED = "read_before_planned_size"
NOTE_TOO_FEW_CLUSTERS = "too_few_clusters"
NOTE_SRM = "sample_ratio_mismatch"
NOTE_NO_UNITS = "no_units"

# --- win/loss -------------------------------------------------------------------------
# (also uses P_VALUE, P_ADJUSTED, LIFT, LIFT_CI_LOW/HIGH, DIFF, DIFF_CI_LOW/HIGH above)
STAGE_LOST = "stage_lost"  # furthest open stage a lost deal entered
LEAD_SOURCE = "lead_source"  # the deal's lead channel, beside feedback's own SOURCE
OWNER_PREFIX = "owner_"  # rep attributes joined onto deals: owner_region, owner_team
AMOUNT_BAND = "amount_band"
CYCLE_BAND = "cycle_band"
DM_BAND = "decision_makers_band"
N_LOST_WITH_REASON = "lost_with_reason"
SHARE = "share"
SHARE_CI_LOW = "share_ci_low"
SHARE_CI_HIGH = "share_ci_high"
CUMULATIVE_SHARE = "cumulative_share"
RANK = "rank"
SHARE_BASELINE = "share_baseline"
SHARE_CURRENT = "share_current"
N_BASELINE = "n_baseline"
N_CURRENT = "n_current"
# Driver models (one row per term).
TERM = "term"
FEATURE = "feature"
LEVEL = "level"
REFERENCE_LEVEL = "reference"
COEF = "coef"
STD_ERR = "std_err"
ODDS_RATIO = "odds_ratio"
# Qualification criteria, scorecard and what-if.
CRITERION = "criterion"
N_MET = "met"
SHARE_MET = "share_met"
PRECISION = "precision"
PRECISION_CI_LOW = "precision_ci_low"
PRECISION_CI_HIGH = "precision_ci_high"
RECALL = "recall"
RECALL_CI_LOW = "recall_ci_low"
RECALL_CI_HIGH = "recall_ci_high"
WIN_RATE_NOT_MET = "win_rate_not_met"
WIN_RATE_NOT_MET_CI_LOW = "win_rate_not_met_ci_low"
WIN_RATE_NOT_MET_CI_HIGH = "win_rate_not_met_ci_high"
LEAD_SCORE_BAND = "lead_score_band"
N_KNOWN = "known"  # deals where the criterion could be evaluated
AUC = "auc"
CALIBRATION_ERROR = "calibration_error"
POINTS = "points"
SCORE = "score"
THRESHOLD = "threshold"
PREDICTED = "predicted"
OBSERVED = "observed"
WINS_DISQUALIFIED = "wins_disqualified_share"
DEALS_SAVED = "deals_saved_share"
ACTIVITIES_SAVED = "activities_saved_share"
N_ACTIVITIES = "activities"
# Feedback themes and phrases.
THEME = "theme"
PHRASE = "phrase"
N_COMMENTS = "comments"
N_MENTIONS = "mentions"
LOG_ODDS = "log_odds"
Z_SCORE = "z"
# Message codes of win/loss results.
NOTE_NO_LOST_DEALS = "no_lost_deals"
NOTE_NO_STAGE_HISTORY = "no_stage_history"
NOTE_SINGLE_LEVEL = "single_level"  # a feature with one level: dropped from the model
NOTE_SEPARATION = "separation"  # a level with only wins or only losses
NOTE_SPARSE_LEVEL = "sparse_level"  # fewer deals than min_level_deals
NOTE_COLLINEAR = "collinear"  # term is a linear combination of others: dropped
NOTE_ONE_OUTCOME = "one_outcome"  # only wins or only losses: no model
NOTE_NO_COMMENTS = "no_comments"

# --- performance ---
# Rep scorecard (analysis.team.performance).
TEAM_WIN_RATE = "team_win_rate"
SHRUNK_WIN_RATE = "shrunk_win_rate"
SHRUNK_CI_LOW = "shrunk_ci_low"
SHRUNK_CI_HIGH = "shrunk_ci_high"
SHRINKAGE_WEIGHT = "shrinkage_weight"
TENURE_MONTHS = "tenure_months"
REVENUE_PER_REP_MONTH = "revenue_per_rep_month"
AVG_WON_DEAL = "avg_won_deal"
MEDIAN_CYCLE_DAYS = "median_cycle_days"
MEDIAN_CYCLE_CI_LOW = "median_cycle_ci_low"
MEDIAN_CYCLE_CI_HIGH = "median_cycle_ci_high"
# N_ACTIVITIES (defined above) is used here too.
ACTIVITIES_PER_DEAL = "activities_per_deal"
FUNNEL_POSITION = "funnel_position"
LIMIT_LOW = "limit_low"
LIMIT_HIGH = "limit_high"
# Comparisons (coaching, segments, history).
REP_CONVERSION = "rep_conversion"
TEAM_CONVERSION = "team_conversion"
DIFFERENCE = "difference"
# DIFF_CI_LOW (defined above) is used here too.
# DIFF_CI_HIGH (defined above) is used here too.
# P_VALUE (defined above) is used here too.
# P_ADJUSTED (defined above) is used here too.
FLAGGED = "flagged"
REVENUE_AT_STAKE = "revenue_at_stake_per_quarter"
METRIC = "metric"
VALUE_A = "value_a"
VALUE_B = "value_b"
CI_LOW_A = "ci_low_a"
CI_HIGH_A = "ci_high_a"
CI_LOW_B = "ci_low_b"
CI_HIGH_B = "ci_high_b"
# Acquisition cost (analysis.team.acquisition).
NEW_CUSTOMERS = "new_customers"
SPEND_TOTAL = "spend"
CAC = "cac"
CAC_CI_LOW = "cac_ci_low"
CAC_CI_HIGH = "cac_ci_high"
PAYBACK_MONTHS = "payback_months"
OPEN_PIPELINE = "open_pipeline"
REVENUE_TARGET = "revenue_target"
COVERAGE = "coverage"
# Message codes in NOTE columns.
NOTE_NO_NEW_CUSTOMERS = "spend_but_no_new_customers"
NOTE_NO_SPEND = "no_spend_rows"
NOTE_NO_TENURE = "no_tenure"
NOTE_NO_REP_VARIATION = "no_between_rep_variation"
NOTE_TOO_FEW_DECIDED = "too_few_decided"


# --- shared by several analyses -----------------------------------------------------
CURRENT, BASELINE = "current", "baseline"  # the two windows of a period comparison
COUNT = "count"  # rows (durations, table rows) counted in a grouped table
NOTE_NO_WON_DEALS = "no_won_deals"  # a figure that needs won deals had none
