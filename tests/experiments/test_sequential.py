"""Tests of analysis.experiments.sequential: O'Brien-Fleming alpha spending."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.experiments.sequential import (
    obrien_fleming_spending,
    read_at,
    sequential_boundaries,
)


def test_four_equal_looks_match_published_boundaries():
    # Published: Lan-DeMets O'Brien-Fleming spending, 4 equally spaced looks, two-sided
    # alpha 0.05 (0.025 per side): z = 4.3326, 2.9631, 2.3590, 2.0141 (R gsDesign
    # sfLDOF; Jennison & Turnbull 2000, ch. 7).
    plan = sequential_boundaries([0.25, 0.5, 0.75, 1.0]).to_frame()
    assert plan["z_boundary"].to_numpy() == pytest.approx(
        [4.3326, 2.9631, 2.3590, 2.0141], abs=2e-4
    )
    assert plan["alpha_spent"].iloc[-1] == pytest.approx(0.05)


def test_one_look_is_the_fixed_horizon_test():
    # Hand calculation: all alpha at t = 1 gives z_0.975 = 1.95996.
    plan = sequential_boundaries([1.0])
    assert plan.table["z_boundary"].iloc[0] == pytest.approx(1.959964, abs=1e-5)
    assert obrien_fleming_spending(1.0) == pytest.approx(0.05)


def test_peeking_inflates_error_and_spending_controls_it():
    # Property by seeded simulation: 20,000 A/A paths read at 4 equal looks. Stopping at
    # the first |z| > 1.96 rejects about 12.6% (Armitage et al. 1969); the O'Brien-Fleming
    # boundaries keep the overall rate at alpha = 0.05.
    rng = np.random.default_rng(20240601)
    steps = rng.standard_normal((20_000, 4)) * np.sqrt(0.25)
    z = steps.cumsum(axis=1) / np.sqrt([0.25, 0.5, 0.75, 1.0])
    naive = (np.abs(z) > 1.959964).any(axis=1).mean()
    bounds = sequential_boundaries([0.25, 0.5, 0.75, 1.0]).table["z_boundary"].to_numpy()
    spent = (np.abs(z) >= bounds).any(axis=1).mean()
    assert naive > 0.11
    assert 0.045 <= spent <= 0.055


def test_reading_early_uses_a_stricter_boundary():
    crossed, bound, info = read_at(2.5, 500, 1000)
    assert info == 0.5 and bound == pytest.approx(2.96, abs=0.01) and not crossed
    assert read_at(2.5, 1000, 1000)[0]


def test_bad_information_raises():
    with pytest.raises(ValueError, match="increasing fractions"):
        sequential_boundaries([0.5, 0.4])
