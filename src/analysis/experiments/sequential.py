"""Planned looks with alpha spending, so a test can be read before it ends.

Reading a fixed-horizon test every week and stopping at the first p < 0.05
rejects far more often than 5%. Planning the looks and spending alpha with an
O'Brien-Fleming-type function keeps the overall error at alpha: early looks
need overwhelming evidence, the last look almost the usual threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

LOOK = "look"
INFORMATION = "information"
ALPHA_SPENT = "alpha_spent"
ALPHA_INCREMENT = "alpha_increment"
Z_BOUNDARY = "z_boundary"
P_BOUNDARY = "p_boundary"
Z_OBSERVED = "z_observed"
CROSSED = "crossed"


GRID_POINTS = 1201  # grid of the numerical integration over the continuation region


def obrien_fleming_spending(information: np.ndarray | float, alpha: float = 0.05) -> np.ndarray:
    """Cumulative two-sided alpha spent by information fraction ``t`` (Lan-DeMets).

    Notes
    -----
    Each side spends :math:`\\alpha/2` with the O'Brien-Fleming-type function
    :math:`2 - 2\\Phi(z_{1-\\alpha/4}/\\sqrt{t})`, so in total

    .. math:: \\alpha(t) = 4 - 4\\,\\Phi\\big(z_{1-\\alpha/4} / \\sqrt{t}\\big),
              \\quad 0 < t \\le 1,

    and :math:`\\alpha(1) = \\alpha`.
    """
    t = np.asarray(information, dtype=float)
    return 4 - 4 * stats.norm.cdf(stats.norm.ppf(1 - alpha / 4) / np.sqrt(t))


def _crossing(density: np.ndarray, grid: np.ndarray, sd: float, bound: float) -> float:
    """P(|B(t_k)| >= bound, no earlier crossing) from the sub-density on the grid."""
    tail = stats.norm.cdf((-bound - grid) / sd) + stats.norm.sf((bound - grid) / sd)
    return float(np.trapezoid(density * tail, grid))


def _next_density(density: np.ndarray, grid: np.ndarray, sd: float, bound: float):
    new_grid = np.linspace(-bound, bound, GRID_POINTS)
    kernel = stats.norm.pdf((new_grid[:, None] - grid[None, :]) / sd) / sd
    weights = np.full(grid.size, grid[1] - grid[0])
    weights[[0, -1]] /= 2
    return kernel @ (density * weights), new_grid


@dataclass(frozen=True)
class SequentialPlan:
    """Boundaries of a group-sequential test with planned looks.

    Attributes
    ----------
    table : pandas.DataFrame
        Per look: ``look, information, alpha_spent, alpha_increment,
        z_boundary, p_boundary`` (the nominal two-sided p-value a look must
        beat), and, when read, ``z_observed`` and ``crossed``.
    alpha : float
        Overall two-sided significance level.
    """

    table: pd.DataFrame
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The per-look table."""
        return self.table.copy()


def sequential_boundaries(
    information: Sequence[float], alpha: float = 0.05, z_observed: Sequence[float] | None = None
) -> SequentialPlan:
    """Two-sided O'Brien-Fleming-type boundaries for looks at the given information.

    Parameters
    ----------
    information : sequence of float
        Information fractions of the looks (share of the planned sample),
        increasing, the last usually 1.
    alpha : float
        Overall two-sided significance level.
    z_observed : sequence of float, optional
        The z statistic seen at each look so far (may be shorter than
        ``information``): the table then says which looks crossed.

    Returns
    -------
    SequentialPlan

    Notes
    -----
    :math:`B(t_k) = Z_k\\sqrt{t_k}` is Brownian motion, so
    :math:`\\text{corr}(Z_i, Z_j) = \\sqrt{t_i / t_j}`. Boundary :math:`c_k`
    solves :math:`P(|Z_k| \\ge c_k, |Z_j| < c_j\\ \\forall j < k) =
    \\alpha(t_k) - \\alpha(t_{k-1})` with the Lan-DeMets O'Brien-Fleming
    spending function :func:`obrien_fleming_spending`; the probabilities come
    from numerical integration of the sub-density of :math:`B` over the
    continuation region (Armitage, McPherson & Rowe 1969).

    References
    ----------
    Lan, K. K. G. & DeMets, D. L. (1983). Discrete sequential boundaries for
    clinical trials. Biometrika 70(3), 659-663. Jennison, C. & Turnbull,
    B. W. (2000). Group Sequential Methods, chapter 7.
    """
    t = np.asarray(information, dtype=float)
    if t.size == 0 or (t <= 0).any() or (t > 1 + 1e-9).any() or (np.diff(t) <= 0).any():
        raise ValueError("information must be increasing fractions in (0, 1], e.g. [0.5, 1].")
    spent = obrien_fleming_spending(t, alpha)
    increment = np.diff(np.r_[0.0, spent])
    z = np.empty(t.size)
    z[0] = stats.norm.isf(spent[0] / 2)
    # Sub-density of the Brownian motion B(t) = Z sqrt(t) given no crossing so far.
    bound = z[0] * np.sqrt(t[0])
    grid = np.linspace(-bound, bound, GRID_POINTS)
    density = stats.norm.pdf(grid / np.sqrt(t[0])) / np.sqrt(t[0])
    for k in range(1, t.size):
        sd = np.sqrt(t[k] - t[k - 1])

        bound = optimize.brentq(
            lambda b, d=density, g=grid, s=sd, k=k: _crossing(d, g, s, b) - increment[k],
            1e-6,
            20.0,
            xtol=1e-10,
        )
        z[k] = bound / np.sqrt(t[k])
        density, grid = _next_density(density, grid, sd, bound)
    table = pd.DataFrame(
        {
            LOOK: np.arange(1, t.size + 1),
            INFORMATION: t,
            ALPHA_SPENT: spent,
            ALPHA_INCREMENT: np.diff(np.r_[0.0, spent]),
            Z_BOUNDARY: z,
            P_BOUNDARY: 2 * stats.norm.sf(z),
        }
    )
    if z_observed is not None:
        seen = np.full(t.size, np.nan)
        seen[: len(z_observed)] = np.asarray(z_observed, dtype=float)
        table[Z_OBSERVED] = seen
        table[CROSSED] = np.abs(seen) >= z
    return SequentialPlan(table, alpha)


def read_at(
    z: float, n: float, planned_sample_size: float, looks: int = 4, alpha: float = 0.05
) -> tuple[bool, float, float]:
    """Whether a z statistic at ``n`` of ``planned_sample_size`` units crosses its boundary.

    The planned looks are equally spaced (``looks`` of them); the current
    reading replaces the planned looks it has passed, so the boundary is the
    one for the looks ``[1/looks, 2/looks, ..., n/planned]``.

    Returns
    -------
    crossed, z_boundary, information : bool, float, float
    """
    info = min(n / planned_sample_size, 1.0)
    planned = np.arange(1, looks + 1) / looks
    passed = planned[planned < info - 1e-9]
    plan = sequential_boundaries([*passed, info], alpha)
    boundary = float(plan.table[Z_BOUNDARY].iloc[-1])
    return bool(abs(z) >= boundary), boundary, info
