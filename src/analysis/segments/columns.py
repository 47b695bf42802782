"""Result columns of :mod:`analysis.segments`, beside the data-model columns it reads.

``from analysis.segments import columns as c`` gives every name of
:mod:`analysis.core.columns`, the team measures B2B and B2C are compared on
(:mod:`analysis.team.columns`: CAC, trends) and the columns only the segment
comparison carries.
"""

from analysis.team.columns import *  # noqa: F403 (data-model and team columns: CAC, trends)

# --- segment comparison (value and interval of each segment) ---
CI_LOW_A = "ci_low_a"
CI_HIGH_A = "ci_high_a"
CI_LOW_B = "ci_low_b"
CI_HIGH_B = "ci_high_b"
