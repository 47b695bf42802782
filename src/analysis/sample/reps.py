"""Sales reps: who they are, how good they are, and which deals they own.

Twenty reps in four teams; each covers one segment in one region. Skill is a
shift of the log-odds of advancing at every stage; one rep has a planted
weakness at a single stage. Deals go to a rep of their segment and region who
was already hired when the deal was created.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.core import columns as c
from analysis.sample.params import REGIONS, Plan

# (segment, region, number of reps, number of them hired during the history)
LAYOUT = (
    (c.B2B, "North America", 4, 1),
    (c.B2B, "EMEA", 3, 1),
    (c.B2B, "APAC", 2, 0),
    (c.B2B, "LATAM", 1, 0),
    (c.B2C, "North America", 4, 1),
    (c.B2C, "EMEA", 3, 1),
    (c.B2C, "APAC", 2, 0),
    (c.B2C, "LATAM", 1, 0),
)
TEAMS = {
    (c.B2B, True): "Enterprise Americas",
    (c.B2B, False): "Enterprise International",
    (c.B2C, True): "Growth Americas",
    (c.B2C, False): "Growth International",
}
_AMERICAS = {"North America", "LATAM"}
# Fixed display names (Latin-1 only, so a cp1252 export can hold them).
NAMES = (
    "Ana García",
    "James O'Brien",
    "Jürgen Müller",
    "Chloé Martin",
    "Søren Nielsen",
    "Priya Sharma",
    "Wei Zhang",
    "Carlos Peña",
    "Emily Carter",
    "Lukas Schröder",
    "Aisha Bello",
    "Mateo Rossi",
    "Hannah Kim",
    "François Dubois",
    "Olivia Brown",
    "Kenji Tanaka",
    "Sofia Álvarez",
    "Noah Wilson",
    "Zoë Fischer",
    "Rafael Souza",
)


@dataclass(frozen=True)
class RepRoster:
    """The reps as arrays (index = position in ``rep_ids``).

    Attributes
    ----------
    rep_ids, names, teams, regions, segments : numpy arrays of str
    hired_days : numpy array of float
        Hire date in days since the start of the history (negative: before it).
    skill : numpy array of float
        Log-odds shift of advancing at every stage.
    weak_rep : int
        Index of the rep with the planted single-stage weakness.
    """

    rep_ids: np.ndarray
    names: np.ndarray
    teams: np.ndarray
    regions: np.ndarray
    segments: np.ndarray
    hired_days: np.ndarray
    skill: np.ndarray
    weak_rep: int


def make_roster(rng: np.random.Generator, plan: Plan) -> RepRoster:
    """Draw the reps: skills, hire dates, and the rep with the planted weakness."""
    segs, regions, hired, late = [], [], [], []
    for segment, region, count, n_late in LAYOUT:
        for j in range(count):
            segs.append(segment)
            regions.append(region)
            late.append(j >= count - n_late)
    n = len(segs)
    late = np.array(late)
    before = -rng.uniform(90.0, 2_000.0, size=n)
    during = rng.uniform(90.0, 0.6 * plan.history_days, size=n)
    hired = np.floor(np.where(late, during, before))
    skill = rng.normal(0.0, plan.rep_skill_sd, size=n)
    segs_a, regions_a = np.array(segs), np.array(regions)
    teams = np.array([TEAMS[(s, r in _AMERICAS)] for s, r in zip(segs, regions, strict=True)])
    # The weak rep: an established B2B rep in the busiest region, so the effect is visible.
    candidates = np.flatnonzero((segs_a == c.B2B) & (regions_a == REGIONS[0]) & ~late)
    weak = int(rng.choice(candidates))
    return RepRoster(
        rep_ids=np.array([f"R{i + 1:02d}" for i in range(n)]),
        names=np.array(NAMES[:n]),
        teams=teams,
        regions=regions_a,
        segments=segs_a,
        hired_days=hired,
        skill=skill,
        weak_rep=weak,
    )


def assign_owners(
    rng: np.random.Generator,
    roster: RepRoster,
    segment: np.ndarray,
    region: np.ndarray,
    created: np.ndarray,
) -> np.ndarray:
    """Owner (rep index) of each deal: uniform among the reps of its segment and region
    who were hired on or before the deal's creation."""
    owner = np.full(segment.shape, -1, dtype=np.int64)
    for seg in np.unique(roster.segments):
        for reg in np.unique(roster.regions):
            reps = np.flatnonzero((roster.segments == seg) & (roster.regions == reg))
            deals = np.flatnonzero((segment == seg) & (region == reg))
            if deals.size == 0:
                continue
            eligible = roster.hired_days[reps][None, :] <= created[deals][:, None]
            eligible[:, np.argmin(roster.hired_days[reps])] = True  # the first hire covers all
            cum = np.cumsum(eligible, axis=1)
            pick = np.floor(rng.random(deals.size) * cum[:, -1]).astype(np.int64)
            column = (cum <= pick[:, None]).sum(axis=1)
            owner[deals] = reps[column]
    return owner
