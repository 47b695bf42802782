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
