"""Cycle time that counts open deals honestly: time in stage and time to close.

CRM reports average the cycle of won deals only, which drops every slow deal
that is still open and so understates how long deals take. Here every stay
and every deal counts: finished ones as events, ongoing ones as censored at
the data cutoff, and Kaplan–Meier (statsmodels ``SurvfuncRight``) estimates
the distribution. Won and lost are competing outcomes of time to close
(Aalen–Johansen cumulative incidence). Row-level work — durations, rounding,
grouping — runs in the engine and returns one row per (group, rounded
duration, outcome) with a count.

This module is the public face; the work lives in
:mod:`analysis.pipeline.cycle.stage` (:func:`time_in_stage`),
:mod:`analysis.pipeline.cycle.close` (:func:`time_to_close`) and
:mod:`analysis.pipeline.cycle.durations` (column names, message codes, shared steps).
"""

from __future__ import annotations

from analysis.core.columns import NOTE_NO_CLOSED_DEALS, NOTE_NO_WON_DEALS
from analysis.engine.durations import RESOLUTION_DAYS
from analysis.pipeline.cycle.close import TimeToClose, time_to_close
from analysis.pipeline.cycle.durations import (
    CAUSE,
    CAUSE_LOST,
    CAUSE_OPEN,
    CAUSE_WON,
    CIF_LOST,
    CIF_WON,
    CLOSE_HORIZONS,
    CLOSED_ONLY_MEAN_DAYS,
    CLOSED_ONLY_MEDIAN_DAYS,
    COUNT,
    DAYS,
    EVENT,
    HORIZON_DAYS,
    KM_MEDIAN_CI_HIGH,
    KM_MEDIAN_CI_LOW,
    KM_MEDIAN_DAYS,
    KM_Q1_DAYS,
    KM_Q3_DAYS,
    MEDIAN_CI_HIGH,
    MEDIAN_CI_LOW,
    MEDIAN_DAYS,
    N_CENSORED,
    N_STAYS,
    NOTE_BEYOND_FOLLOW_UP,
    NOTE_CI_NOT_ESTIMABLE,
    NOTE_CI_OPEN_ABOVE,
    NOTE_MEDIAN_NOT_REACHED,
    NOTE_NO_DEALS,
    NOTE_NO_EVENTS,
    NOTE_NO_STAYS,
    P_LOST,
    P_LOST_CI_HIGH,
    P_LOST_CI_LOW,
    P_OPEN,
    P_WON,
    P_WON_CI_HIGH,
    P_WON_CI_LOW,
    Q1_DAYS,
    Q3_DAYS,
    VAR_LOST,
    VAR_WON,
    WON_ONLY_MEAN_DAYS,
    WON_ONLY_MEDIAN_DAYS,
)
from analysis.pipeline.cycle.stage import TimeInStage, time_in_stage
from analysis.stats.survival import N_AT_RISK, SURVIVAL

__all__ = [
    "TimeInStage",
    "TimeToClose",
    "time_in_stage",
    "time_to_close",
    "CAUSE",
    "CAUSE_LOST",
    "CAUSE_OPEN",
    "CAUSE_WON",
    "CIF_LOST",
    "CIF_WON",
    "CLOSED_ONLY_MEAN_DAYS",
    "CLOSED_ONLY_MEDIAN_DAYS",
    "COUNT",
    "DAYS",
    "EVENT",
    "CLOSE_HORIZONS",
    "HORIZON_DAYS",
    "KM_MEDIAN_CI_HIGH",
    "KM_MEDIAN_CI_LOW",
    "KM_MEDIAN_DAYS",
    "KM_Q1_DAYS",
    "KM_Q3_DAYS",
    "MEDIAN_CI_HIGH",
    "MEDIAN_CI_LOW",
    "MEDIAN_DAYS",
    "NOTE_BEYOND_FOLLOW_UP",
    "NOTE_CI_NOT_ESTIMABLE",
    "NOTE_CI_OPEN_ABOVE",
    "NOTE_MEDIAN_NOT_REACHED",
    "NOTE_NO_CLOSED_DEALS",
    "NOTE_NO_DEALS",
    "NOTE_NO_EVENTS",
    "NOTE_NO_STAYS",
    "NOTE_NO_WON_DEALS",
    "N_AT_RISK",
    "N_CENSORED",
    "N_STAYS",
    "P_LOST",
    "P_LOST_CI_HIGH",
    "P_LOST_CI_LOW",
    "P_OPEN",
    "P_WON",
    "P_WON_CI_HIGH",
    "P_WON_CI_LOW",
    "Q1_DAYS",
    "Q3_DAYS",
    "RESOLUTION_DAYS",
    "SURVIVAL",
    "VAR_LOST",
    "VAR_WON",
    "WON_ONLY_MEAN_DAYS",
    "WON_ONLY_MEDIAN_DAYS",
]
