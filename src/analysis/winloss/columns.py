"""Result columns of :mod:`analysis.winloss`, beside the data-model columns it reads.

``from analysis.winloss import columns as c`` gives both: every name of
:mod:`analysis.core.columns` and the columns only this question's results carry.
"""

from analysis.core.columns import *  # noqa: F403 (the data-model columns)

# --- win/loss -------------------------------------------------------------------------
STAGE_LOST = "stage_lost"  # furthest open stage a lost deal entered
LEAD_SOURCE = "lead_source"  # the deal's lead channel, beside feedback's own SOURCE
OWNER_PREFIX = "owner_"  # rep attributes joined onto deals: owner_region, owner_team
AMOUNT_BAND = "amount_band"
CYCLE_BAND = "cycle_band"
DM_BAND = "decision_makers_band"
N_LOST_WITH_REASON = "lost_with_reason"
SHARE = "share"
CUMULATIVE_SHARE = "cumulative_share"
SHARE_BASELINE = "share_baseline"
SHARE_CURRENT = "share_current"
N_BASELINE = "n_baseline"
N_CURRENT = "n_current"
TERM = "term"
FEATURE = "feature"
LEVEL = "level"
REFERENCE_LEVEL = "reference"
COEF = "coef"
STD_ERR = "std_err"
ODDS_RATIO = "odds_ratio"
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
POINTS = "points"
SCORE = "score"
THRESHOLD = "threshold"
PREDICTED = "predicted"
OBSERVED = "observed"
WINS_DISQUALIFIED = "wins_disqualified_share"
DEALS_SAVED = "deals_saved_share"
ACTIVITIES_SAVED = "activities_saved_share"
THEME = "theme"
PHRASE = "phrase"
N_COMMENTS = "comments"
N_MENTIONS = "mentions"
LOG_ODDS = "log_odds"
Z_SCORE = "z"
NOTE_NO_LOST_DEALS = "no_lost_deals"
NOTE_SINGLE_LEVEL = "single_level"  # a feature with one level: dropped from the model
NOTE_SEPARATION = "separation"  # a level with only wins or only losses
NOTE_SPARSE_LEVEL = "sparse_level"  # fewer deals than min_level_deals
NOTE_COLLINEAR = "collinear"  # term is a linear combination of others: dropped
NOTE_NO_COMMENTS = "no_comments"
