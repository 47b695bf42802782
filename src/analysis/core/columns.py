"""Column names, table names and category values of the canonical data model.

Every function refers to a column through these constants, never a string
literal, so a renamed column changes in one place. ``docs/data-model.md``
describes each one. The result columns of one question live with it
(``analysis.experiments.columns``, ``analysis.winloss.columns``,
``analysis.team.columns``, ``analysis.segments.columns``); those several
analyses share (and the engine's funnel flags) are at the end of this module.
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
DEAL_CHANGES = "deal_changes"
LEADS = "leads"
ORDERS = "orders"
SUBSCRIPTIONS = "subscriptions"
ONBOARDING = "onboarding"
TABLES = (
    DEALS, STAGE_EVENTS, ACTIVITIES, ASSIGNMENTS, REPS, SPEND, FEEDBACK, DEAL_CHANGES, LEADS,
    ORDERS, SUBSCRIPTIONS, ONBOARDING,
)  # fmt: skip

# --- deals ----------------------------------------------------------------------
DEAL_ID = "deal_id"
CREATED_AT = "created_at"
OUTCOME = "outcome"
AMOUNT = "amount"
SEGMENT = "segment"
CLOSED_AT = "closed_at"
EXPECTED_CLOSE_AT = "expected_close_at"  # an open deal's expected close (never a close)
BACKDATED = "backdated"  # closed before it was created in the CRM (logged after the fact)
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
PROBABILITY = "probability"  # the rep-entered chance of winning, a share in [0, 1]
FORECAST_CATEGORY = "forecast_category"  # e.g. Pipeline, Best Case, Commit (as the CRM says)

# --- deal_changes: one row per change of a tracked deal field -----------------
CHANGED_AT = "changed_at"
FIELD = "field"  # which deal column changed: one of TRACKED_FIELDS
OLD_VALUE = "old_value"  # as canonical text: amounts and shares as decimals, times ISO 8601 UTC
NEW_VALUE = "new_value"
CHANGED_BY = "changed_by"  # rep or user who made the change, when the CRM says
TRACKED_FIELDS = (AMOUNT, EXPECTED_CLOSE_AT, STAGE, FORECAST_CATEGORY, PROBABILITY)

# --- leads: one row per lead, from its creation to its hand-off to sales ------
LEAD_ID = "lead_id"
# leads also carry CREATED_AT, SOURCE (the channel), OWNER_ID and SEGMENT
CAMPAIGN = "campaign"  # the marketing campaign that brought the lead in, when known
LEAD_STATUS = "lead_status"  # the lead's status at export: one of LEAD_STATUSES
MQL_AT = "mql_at"  # when marketing qualified it (MQL)
ACCEPTED_AT = "accepted_at"  # when sales accepted it (SAL)
SQL_AT = "sql_at"  # when sales qualified it as an opportunity-worthy lead (SQL)
DISQUALIFIED_AT = "disqualified_at"  # when sales rejected or disqualified it
DISQUALIFY_REASON = "disqualify_reason"  # why, in the CRM's words
RECYCLED_AT = "recycled_at"  # when it went back to marketing for nurturing
FIRST_RESPONSE_AT = "first_response_at"  # the first sales touch (call, e-mail) after MQL
CONVERTED_AT = "converted_at"  # when it became a deal
CONVERTED_DEAL_ID = "converted_deal_id"  # the deal it became (deals.deal_id)
LEAD_STEPS = (MQL_AT, ACCEPTED_AT, SQL_AT, CONVERTED_AT)  # the funnel's steps, in order
STEPS_OUT_OF_ORDER = "steps_out_of_order"  # a lifecycle time before an earlier step's

# --- orders: one row per purchase after (or without) a deal: repeat buying -------
ORDER_ID = "order_id"
CUSTOMER_ID = "customer_id"  # the buyer: a B2C customer, or a B2B account (deals.account_id)
ORDERED_AT = "ordered_at"
# orders also carry DEAL_ID (the deal it came from, if any), AMOUNT, CURRENCY, PRODUCT
BEFORE_DEAL_CLOSED = "before_deal_closed"  # dated over a day before its deal's close (kept)

# --- subscriptions: one row per change of an account's recurring revenue --------
# subscriptions carry CUSTOMER_ID, DEAL_ID (the deal behind the change, if any), CURRENCY
EFFECTIVE_AT = "effective_at"  # when the change took effect
MRR_BEFORE = "mrr_before"  # recurring revenue per month before the change
MRR_AFTER = "mrr_after"  # ... and after it
CHANGE_TYPE = "change_type"  # one of CHANGE_TYPES
DISCOUNT = "discount"  # the share off list price the deal was sold at, when known
MRR_INCONSISTENT = "mrr_inconsistent"  # mrr_before/after disagree with change_type (kept)
# subscriptions also carry BEFORE_DEAL_CLOSED
# With --fx-rates, ingest converts orders.amount and the MRR into the reporting currency and
# keeps what the export said (orders: AMOUNT_ORIGINAL; subscriptions: these two).
MRR_BEFORE_ORIGINAL = "mrr_before_original"
MRR_AFTER_ORIGINAL = "mrr_after_original"

# --- onboarding: one row per won deal's implementation (B2B), milestones optional ---
# onboarding carries DEAL_ID (the won deal) and CUSTOMER_ID (its account, when known)
KICKOFF_AT = "kickoff_at"  # the implementation's kick-off meeting
GO_LIVE_AT = "go_live_at"  # the customer is live (null: not yet)

# --- stage_events ---------------------------------------------------------------
ENTERED_AT = "entered_at"
DERIVED = "derived"  # True when ingest inferred the event from a current stage
BEFORE_CREATED = "before_created"  # entered over a day before its deal was created

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
# A label the export left blank is its own, explicit group, never a name called "nan".
UNKNOWN = "unknown"
# Deal labels that group results; blanks read as UNKNOWN.
LABEL_COLUMNS = (SEGMENT, SOURCE, REGION, PRODUCT)
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
CHANGE_NEW, CHANGE_EXPANSION, CHANGE_CONTRACTION = "new", "expansion", "contraction"
CHANGE_CHURN, CHANGE_RENEWAL = "churn", "renewal"
CHANGE_TYPES = (CHANGE_NEW, CHANGE_EXPANSION, CHANGE_CONTRACTION, CHANGE_CHURN, CHANGE_RENEWAL)
LEAD_NEW, LEAD_MQL, LEAD_ACCEPTED, LEAD_SQL = "new", "mql", "accepted", "sql"
LEAD_CONVERTED, LEAD_DISQUALIFIED, LEAD_RECYCLED = "converted", "disqualified", "recycled"
LEAD_STATUSES = (
    LEAD_NEW, LEAD_MQL, LEAD_ACCEPTED, LEAD_SQL, LEAD_CONVERTED, LEAD_DISQUALIFIED, LEAD_RECYCLED,
)  # fmt: skip

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

# --- result columns shared by several analyses -------------------------------------
# Each question's own result columns live in its package (analysis.<question>.columns).
DECIDED = "decided"  # converted, or closed without converting
DAYS = "days"  # days from started_at to conversion, or to the data cutoff (censored)
N_UNITS = "n"
DIFF_CI_LOW = "diff_ci_low"
DIFF_CI_HIGH = "diff_ci_high"
LIFT = "lift"
LIFT_CI_LOW = "lift_ci_low"
LIFT_CI_HIGH = "lift_ci_high"
P_VALUE = "p_value"
P_ADJUSTED = "p_adjusted"
NOTE_NO_VARIATION = "no_variation"  # all units converted, or none did
RANK = "rank"
N_ACTIVITIES = "activities"
SHRUNK_CI_LOW = "shrunk_ci_low"
SHRUNK_CI_HIGH = "shrunk_ci_high"
SHRINKAGE_WEIGHT = "shrinkage_weight"
DIFFERENCE = "difference"
METRIC = "metric"
VALUE_A = "value_a"
VALUE_B = "value_b"
CURRENT, BASELINE = "current", "baseline"  # the two windows of a period comparison
COUNT = "count"  # rows (durations, table rows) counted in a grouped table
NOTE_NO_WON_DEALS = "no_won_deals"  # a figure that needs won deals had none
NOTE_MIXED_CURRENCY = (
    "mixed_currency"  # amounts in several currencies, no rates: no total across them
)
OPEN_AMOUNT = "open_amount"
