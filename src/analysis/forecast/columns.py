"""Result columns of :mod:`analysis.forecast`, beside the data-model columns it reads.

``from analysis.forecast import columns as c`` gives both: every name of
:mod:`analysis.core.columns` and the columns only this question's results carry.
"""

from analysis.core.columns import *  # noqa: F403 (the data-model columns)
from analysis.core.columns import LOST, WON

# --- the pipeline as of a date ---
AGE_DAYS = "age_days"  # days from created_at to the snapshot's date
DAYS_IN_STAGE = "days_in_stage"  # days from stage_entered_at to the snapshot's date

# --- the pipeline waterfall ---
COMPONENT = "component"
START = "start"  # the window's pipeline at the start
CREATED = "created"  # deals created in the period that entered it
MOVED_IN = "moved_in"  # deals open at the start, outside the window then, that entered it
INCREASED = "increased"  # net amount increases of start-pipeline deals
DECREASED = "decreased"  # net amount decreases of start-pipeline deals
MOVED_OUT = "moved_out"  # start-pipeline deals pushed out of the window, open at the end
END = "end"  # the window's pipeline at the end
COMPONENTS = (START, CREATED, MOVED_IN, INCREASED, DECREASED, MOVED_OUT, WON, LOST, END)
# How each flow enters the bridge start + ... = end (0 for the two levels).
COMPONENT_SIGNS = {
    START: 0, CREATED: 1, MOVED_IN: 1, INCREASED: 1, DECREASED: -1,
    MOVED_OUT: -1, WON: -1, LOST: -1, END: 0,
}  # fmt: skip
# Components whose count is informational: they move amounts, not deals.
AMOUNT_ONLY = (INCREASED, DECREASED)

# Sentences in the results' notes (formatted with the dates concerned).
NOTE_NO_CHANGE_HISTORY = (
    "No change history: amounts and close dates are today's, not as they stood on {date}."
)
NOTE_NO_EXPECTED_CLOSE = (
    "No expected close dates: every open deal counts as in the pipeline, whatever the window's end."
)
NOTE_UNDATED_CLOSES = "Won or lost without a close date: {deals}, counted as open {when}."
NOTE_AFTER_CUTOFF = (
    "The data runs to {cutoff}: the end of the period ({end}) is later, so its flows are "
    "those known so far."
)

# --- slippage of expected close dates ---
AT_RISK = "at_risk"  # deals still open after their first expected close
PUSHED = "pushed"  # at-risk deals whose expected close was pushed at least once
SHARE_PUSHED = "share_pushed"  # pushed / at_risk
PUSHES = "pushes"  # pushes of the pushed deals
PUSHES_PER_DEAL = "pushes_per_pushed_deal"
PUSHES_CI_LOW, PUSHES_CI_HIGH = "pushes_ci_low", "pushes_ci_high"
MEAN_DAYS_PUSHED = "mean_days_pushed"  # per pushed deal, days its close moved later in all
DAYS_CI_LOW, DAYS_CI_HIGH = "days_ci_low", "days_ci_high"
MEDIAN_DAYS_PUSHED = "median_days_pushed"
PULL_INS = "pull_ins"  # changes to an earlier expected close while open
PUSHED_CLOSED, PUSHED_WON = "pushed_closed", "pushed_won"
PUSHED_WIN_RATE = "pushed_win_rate"
PUSHED_CI_LOW, PUSHED_CI_HIGH = "pushed_ci_low", "pushed_ci_high"
UNPUSHED_CLOSED, UNPUSHED_WON = "unpushed_closed", "unpushed_won"
UNPUSHED_WIN_RATE = "unpushed_win_rate"
UNPUSHED_CI_LOW, UNPUSHED_CI_HIGH = "unpushed_ci_low", "unpushed_ci_high"
# Message codes of slippage rows.
NOTE_NO_AT_RISK = "no_deals_at_risk"
NOTE_NO_PUSHES = "no_pushes"
NOTE_NO_CLOSED_PUSHED = "no_closed_pushed_deals"
NOTE_NO_CLOSED_UNPUSHED = "no_closed_unpushed_deals"
# Sentences in the slippage result's notes.
NOTE_PUSHED_NOT_AT_RISK = (
    "{deals} pushed before the first expected close passed and closed before it: "
    "not at risk, so left out of the shares and win rates."
)
NOTE_NO_FIRST_CLOSE = "{deals} without any expected close date: never at risk."

# --- the forecast of a window (outlook) ---
GROUP = "group"  # the value of the grouping column, or TOTAL
TOTAL = "total"
NEW_DEALS = "new deals"  # the group of deals not yet created on as_of
WON_SO_FAR = "won so far"  # the group of deals won from the window's start to as_of
OPEN_DEALS = "open_deals"  # open deals at as_of
EXPECTED_COUNT = "expected_count"  # sum of the deals' p_win
MEAN = "mean"  # expected amount won in the window: sum of amount x p_win
PI_LOW, MEDIAN, PI_HIGH = "pi_low", "median", "pi_high"  # alpha/2, 1/2, 1 - alpha/2 quantiles
REP_WEIGHTED = "rep_weighted"  # sum of amount x probability, expected close before the end
STAGE_WEIGHTED = "stage_weighted"  # sum of amount x the stage's historical win rate
P_WIN = "p_win"  # modelled probability that the deal is won in the window
STAGE_WIN_RATE = "stage_win_rate"  # won / closed among the stage's past entrants
N_AT_RISK = "n_at_risk"  # past entrants of the stage still open after the deal's days in stage
ESTIMATED_FROM = "estimated_from"  # which history p_win comes from
FROM_SEGMENT_STAGE, FROM_STAGE = "segment_stage", "stage"  # its values (null: none)
FROM_SIZE = "segment_size_stage"  # ... from the deal's size band within its segment
SIZE_BAND = "size_band"  # the deal's third of its segment's amounts on as_of
SMALLER, MIDDLE, LARGER = "smaller", "middle", "larger"  # its values (null: unknown)
MIN_AT_RISK = 20  # past entrants a size band needs before its own history is used
# Sentences in the outlook's notes.
NOTE_NEW_DEALS = (
    "Deals created after {as_of} are not forecast: the figures are the open pipeline's only."
)
NOTE_RUN_RATE = (
    "Deals created after {as_of} are forecast from the past year's run rate: deals created "
    "and won within the last {spans} of {days} days."
)
NOTE_NO_RUN_RATE = (
    "Deals created after {as_of} are not forecast: the history holds no whole span of {days} "
    "days before then."
)
NOTE_AS_OF_IN_WINDOW = (
    "The pipeline is read on {as_of}, inside the window: what was won from {start} to then "
    "is counted as booked (the 'won so far' row)."
)
NOTE_POOLED_STAGE = (
    "{deals} without history of their segment at that stage and time in stage: "
    "p_win from the stage over all segments."
)
NOTE_NO_HISTORY = (
    "{deals} without any history at that stage and time in stage: p_win unknown, counted as 0."
)
NOTE_NO_STAGE_ENTRY = "{deals} without a known stage entry time: days in stage taken as 0."
STAY_DAYS = "stay_days"  # history of a stage: days an entry stayed in it (to move, close or as_of)

# --- the backtest of the window forecast ---
WINDOW_START, WINDOW_END = "window_start", "window_end"  # the past window [start, end)
WINDOW = "window"  # a past window in words, on a page
ACTUAL = "actual"  # amount won in the window (by open deals and deals created in it)
P10, P50, P90 = "p10", "p50", "p90"  # the forecast's pi_low, median, pi_high
ACTUAL_PIPELINE = "actual_pipeline"  # amount won in the window by the deals open at its start
PIPELINE_MEAN = "pipeline_mean"  # the model's mean for those deals (new deals left out)
DUE_PIPELINE = "due_pipeline"  # amount of the open deals expected to close in the window
NEW_WON = "new_deals_won"  # deals created in the window and won in it
REP_P10, REP_P50, REP_P90 = "rep_p10", "rep_p50", "rep_p90"  # Bernoulli(rep probability) sums
STAGE_P10, STAGE_P50, STAGE_P90 = "stage_p10", "stage_p50", "stage_p90"  # ... (stage rate)
COVERED = "covered"  # p10 <= actual <= p90
REP_P_WIN = "rep_p_win"  # per deal: its probability when due in the window, else 0
STAGE_P_WIN = "stage_p_win"  # per deal: its stage's win rate when due in the window, else 0
WON_IN_WINDOW = "won_in_window"  # per deal: won with closed_at in the window
METHOD = "method"  # which forecast a summary row scores: MEAN, REP_WEIGHTED, STAGE_WEIGHTED
TARGET = "target"  # the actual a summary row is scored against: ACTUAL or ACTUAL_PIPELINE
WINDOWS = "windows"  # windows scored (actual > 0 for bias and MAPE)
BIAS = "bias"  # mean of (forecast - actual) / actual
MAPE = "mape"  # mean of |forecast - actual| / actual
COVERAGE = "coverage"  # share of windows whose interval covered the actual
# --- coverage of a target ---
TARGET_AMOUNT = "target_amount"  # what the window should win
WON_SO_FAR_AMOUNT = "won_so_far"  # what it has already won when read inside it
COVERAGE_NOW = "coverage_now"  # due pipeline / target
NEEDED_COVERAGE = "needed_coverage"  # 1 / the (1 - confidence) quantile of past conversions
PIPELINE_NEEDED = "pipeline_needed"  # needed coverage x target
PIPELINE_GAP = "pipeline_gap"  # max(0, pipeline needed - due pipeline)
CHANCE_OF_TARGET = "chance_of_target"  # share of the forecast's simulations reaching the target
CONVERSION = "conversion"  # a past window's actual / due pipeline
NOTE_FEW_WINDOWS = "few_past_windows"
NOTE_NOTHING_WON = "past_windows_won_nothing"
NOTE_TARGET_MET = "target_already_met"

# --- calibration of the backtest's per-deal chances ---
MODEL, REP, STAGE_DEFAULT = "model", "rep probability", "stage win rate"  # the three methods
BIN = "bin"  # lower edge of a band of predicted chance
DEAL_WINDOWS = "deal_windows"  # (deal, window) pairs counted
PREDICTED, OBSERVED = "predicted", "observed"  # mean predicted chance; share won
BRIER = "brier"  # mean squared error of the predicted chance
VERSUS_MODEL = "versus_model"  # the method's Brier score minus the model's (paired)
DIFF_LOW, DIFF_HIGH = "diff_ci_low", "diff_ci_high"
P_VALUE = "p_value"
# Message codes of summary rows.
NOTE_NO_WINDOWS = "no_windows"
NOTE_ZERO_ACTUAL = "windows_with_zero_actual_left_out"
