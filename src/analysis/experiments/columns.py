"""Result columns of :mod:`analysis.experiments`, beside the data-model columns it reads.

``from analysis.experiments import columns as c`` gives both: every name of
:mod:`analysis.core.columns` and the columns only this question's results carry.
"""

from analysis.core.columns import *  # noqa: F403 (the data-model columns)

# --- category values ------------------------------------------------------------

# --- experiments ----------------------------------------------------------------------
CONVERTED = "converted"  # 1 converted, 0 not (lost before converting); missing = undecided
CLUSTER = "cluster"  # randomisation unit the deal belongs to (rep, account or the deal)
STARTED_AT = "started_at"  # when the deal entered the test (entry into the treated stage)
CONVERTED_AT = "converted_at"
N_CONVERSIONS = "conversions"
RATE = "rate"
RATE_CI_LOW = "rate_ci_low"
RATE_CI_HIGH = "rate_ci_high"
Z = "z"  # z-type statistic of the comparison: score z, or the cluster-robust t
T_WELCH = "t_welch"  # Welch's t of a difference in means (deal size)
METHOD = "method"
IS_CONTROL = "is_control"
N_CLUSTERS = "clusters"
NOTE_SINGLE_VARIANT = "single_variant"
NOTE_EMPTY_VARIANT = "empty_variant"
NOTE_NON_BINARY = "non_binary_outcome"
NOTE_BEFORE_PLANNED = "read_before_planned_size"
NOTE_TOO_FEW_CLUSTERS = "too_few_clusters"
NOTE_SRM = "sample_ratio_mismatch"
NOTE_NO_UNITS = "no_units"
NOTE_EXACT_P = "exact_p_score_interval"  # an exact test's p beside the score interval
