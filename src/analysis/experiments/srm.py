"""Sample ratio mismatch: did randomisation split the units as planned?

A split that differs from the plan by more than chance means assignment or
tracking is broken (units dropped from one arm, a redirect that fails), and
no effect estimate from the test can be trusted until it is explained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.experiments import columns as c

# Conventional SRM threshold: flag only overwhelming evidence, since the check
# runs on every test and a false alarm stops a healthy experiment.
SRM_ALPHA = 0.001
EXPECTED = "expected"
PLANNED_SHARE = "planned_share"
OBSERVED_SHARE = "observed_share"


@dataclass(frozen=True)
class SampleRatioCheck:
    """Observed against planned allocation of randomisation units.

    Attributes
    ----------
    table : pandas.DataFrame
        Per variant: ``variant, n, expected, observed_share, planned_share``.
    statistic, p_value : float
        Pearson chi-square goodness-of-fit test against the planned split.
    df : int
        Degrees of freedom (variants - 1).
    threshold : float
        P-value below which the split is flagged.
    flagged : bool
        Whether ``p_value < threshold``.
    note : str or None
        ``sample_ratio_mismatch`` when flagged; ``no_units`` when empty.
    message : str
        The finding in words.
    """

    table: pd.DataFrame
    statistic: float
    p_value: float
    df: int
    threshold: float
    flagged: bool
    note: str | None
    message: str

    def to_frame(self) -> pd.DataFrame:
        """The per-variant table with the test's p-value and flag on each row."""
        out = self.table.copy()
        out[c.P_VALUE] = self.p_value
        out["flagged"] = self.flagged
        return out


def sample_ratio_mismatch(
    counts: Mapping[str, int] | pd.Series,
    planned: Mapping[str, float] | Sequence[float] | None = None,
    threshold: float = SRM_ALPHA,
) -> SampleRatioCheck:
    """Chi-square test of the observed units per variant against the planned split.

    Parameters
    ----------
    counts : mapping or Series
        Randomisation units per variant (reps for a rep-randomised test).
    planned : mapping or sequence of float, optional
        Planned share (or weight) of each variant; default an equal split.
    threshold : float
        Flag when the p-value is below it (default 0.001).

    Returns
    -------
    SampleRatioCheck

    Notes
    -----
    .. math:: \\chi^2 = \\sum_v \\frac{(n_v - N\\pi_v)^2}{N\\pi_v}
              \\sim \\chi^2_{k-1}

    with planned shares :math:`\\pi_v` (scipy ``chisquare``).

    References
    ----------
    Fabijan, A. et al. (2019). Diagnosing sample ratio mismatch in online
    controlled experiments. KDD '19, 2156-2164.
    """
    counts = pd.Series(dict(counts) if isinstance(counts, Mapping) else counts, dtype=float)
    if planned is None:
        shares = np.full(len(counts), 1.0 / max(len(counts), 1))
    elif isinstance(planned, Mapping):
        missing = [v for v in counts.index if v not in planned]
        if missing:
            raise ValueError(f"planned has no share for variant {missing[0]!r}.")
        shares = np.array([planned[v] for v in counts.index], dtype=float)
    else:
        shares = np.asarray(planned, dtype=float)
        if shares.size != len(counts):
            raise ValueError(f"planned has {shares.size} shares for {len(counts)} variants.")
    if (shares <= 0).any():
        raise ValueError("planned shares must be positive.")
    shares = shares / shares.sum()
    total = counts.sum()
    table = pd.DataFrame(
        {
            c.VARIANT: counts.index.astype(str),
            c.N_UNITS: counts.to_numpy(np.int64),
            EXPECTED: total * shares,
            OBSERVED_SHARE: counts.to_numpy() / total if total else np.nan,
            PLANNED_SHARE: shares,
        }
    )
    if total <= 0 or len(counts) < 2:
        return SampleRatioCheck(
            table, np.nan, np.nan, max(len(counts) - 1, 0), threshold, False, c.NOTE_NO_UNITS,
            "No split to check: fewer than two variants or no units.",
        )  # fmt: skip
    res = stats.chisquare(counts.to_numpy(), total * shares)
    flagged = bool(res.pvalue < threshold)
    split = "/".join(f"{100 * s:.1f}" for s in table[OBSERVED_SHARE])
    plan = "/".join(f"{100 * s:.0f}" for s in shares)
    if flagged:
        message = (
            f"Sample ratio mismatch: units split {split} against the planned {plan} "
            f"(chi-square p = {res.pvalue:.2g} < {threshold}). Assignment or tracking is "
            "broken; fix it before trusting any effect from this test."
        )
    else:
        message = (
            f"Units split {split} against the planned {plan}; consistent with the plan "
            f"(chi-square p = {res.pvalue:.2g})."
        )
    return SampleRatioCheck(
        table, float(res.statistic), float(res.pvalue), len(counts) - 1, threshold, flagged,
        c.NOTE_SRM if flagged else None, message,
    )  # fmt: skip
