"""The sample CRM as a HubSpot portal's deals export, in either header style.

The portal is German (stage and pipeline labels in German, times in
Europe/Berlin) and has two deal pipelines: business customers (the sample's
B2B deals, HubSpot's ``default`` pipeline) and private customers (B2C), each
with its own stage labels and ids.

``header="labels"`` writes what the UI's export of a deals view gives:
``hubspot-crm-exports-alle-deals-<date>.csv`` in UTF-8 with a byte-order
mark, property labels as headers, times in the portal's zone without
offset, Close Date as a date, the owner by name, pipeline and stage by label,
"Amount in company currency", and both the current and the older "Date
entered" columns of one pipeline; with ``pipelines.csv`` and ``owners.csv``.
``header="names"`` writes an API export saved from Excel: ``deals.csv`` in
cp1252, internal property names, ISO times in UTC, ids for pipeline, stage
and owner, a custom ``deal_segment`` property and archived deals; with
``pipelines.json`` as the Pipelines API returns it and ``owners.csv``.

Warts planted, each returned in :class:`HubSpotExport`: date-only close
dates (labels) and same-day wins; open deals' close dates are expected
closes after the export; a few deals were logged after they closed
(backdated); archived deals are still in the API export; descriptions carry
NUL bytes; LATAM deals are booked in a fourth currency (MXN). "Date entered"
keeps a stage's latest entry only, as HubSpot does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.sample import SampleCRM
from analysis.sample.crm_exports._warts import (
    flag_text,
    in_zone,
    local_date,
    rich_text,
    with_fourth_currency,
)
from analysis.sample.export import write_csv

TIMEZONE = "Europe/Berlin"
PIPELINES = {  # segment -> (pipeline id, label, display order)
    c.B2B: ("default", "Geschäftskunden", 0),
    c.B2C: ("98765100", "Privatkunden", 1),
}
STAGES = {  # segment -> canonical stage -> (German label, stage id, probability)
    c.B2B: {
        "prospecting": ("Erstkontakt", "appointmentscheduled", 0.1),
        "qualification": ("Qualifiziert", "qualifiedtobuy", 0.2),
        "discovery": ("Bedarfsanalyse", "98765001", 0.3),
        "presentation": ("Präsentation", "presentationscheduled", 0.4),
        "proposal": ("Angebot versendet", "contractsent", 0.6),
        "negotiation": ("Verhandlung", "decisionmakerboughtin", 0.8),
        "won": ("Gewonnen", "closedwon", 1.0),
        "lost": ("Verloren", "closedlost", 0.0),
    },
    c.B2C: {
        "prospecting": ("Anfrage", "98765101", 0.1),
        "qualification": ("Beratungstermin", "98765102", 0.2),
        "discovery": ("Bedarf geklärt", "98765103", 0.3),
        "presentation": ("Vorführung", "98765104", 0.4),
        "proposal": ("Kostenvoranschlag", "98765105", 0.6),
        "negotiation": ("Vertragsprüfung", "98765106", 0.8),
        "won": ("Abgeschlossen", "98765107", 1.0),
        "lost": ("Abgesagt", "98765108", 0.0),
    },
}
ARCHIVED_STAGE = ("Warteschleife", "98765009", 3.5)  # in the B2B pipeline, archived, never used
PIPELINE_NAMES = {c.B2B: "geschäftskunden", c.B2C: "privatkunden"}
SLUGS = {  # what ingest names each stage (analysis.ingest.vendors.stages.stage_slug)
    c.B2B: {
        "prospecting": "erstkontakt",
        "qualification": "qualifiziert",
        "discovery": "bedarfsanalyse",
        "presentation": "präsentation",
        "proposal": "angebot_versendet",
        "negotiation": "verhandlung",
        "won": "won",
        "lost": "lost",
    },
    c.B2C: {
        "prospecting": "anfrage",
        "qualification": "beratungstermin",
        "discovery": "bedarf_geklärt",
        "presentation": "vorführung",
        "proposal": "kostenvoranschlag",
        "negotiation": "vertragsprüfung",
        "won": "won",
        "lost": "lost",
    },
}
LOCAL_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class HubSpotExport:
    """What the writer planted.

    Attributes
    ----------
    folder : Path
    header : {"labels", "names"}
    deals_file : str
        Name of the deals file.
    ids : dict
        Sample deal id to HubSpot record id.
    owner_ids : dict
        Sample rep id to HubSpot owner id.
    backdated : tuple of str
        Sample deal ids logged after they closed (Create Date after Close Date).
    archived : int
        Extra deals exported with archived true (names only).
    archived_entries : int
        Filled Date-entered cells of the archived deals.
    nul_rows : int
        Deals whose description holds a NUL byte.
    as_of : pandas.Timestamp
        The latest last-modified time (the export's time).
    timezone : str
    """

    folder: Path
    header: str
    deals_file: str
    ids: dict[str, str]
    owner_ids: dict[str, str]
    backdated: tuple[str, ...]
    archived: int
    archived_entries: int
    nul_rows: int
    as_of: pd.Timestamp
    timezone: str = TIMEZONE


def _utc(ts: pd.Series) -> pd.Series:
    text = ts.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.str.slice(0, 23).where(ts.notna()) + "Z"


def _local(ts: pd.Series) -> pd.Series:
    return in_zone(ts, TIMEZONE, LOCAL_TIME).where(ts.notna())


def latest_entries(events: pd.DataFrame) -> pd.DataFrame:
    """Each deal's latest entry of each stage: what a HubSpot "Date entered" property keeps."""
    ordered = events.sort_values([c.DEAL_ID, c.ENTERED_AT], kind="stable")
    return ordered.drop_duplicates([c.DEAL_ID, c.STAGE], keep="last").reset_index(drop=True)


def _entered(deals: pd.DataFrame, events: pd.DataFrame, labels: bool) -> dict[str, pd.Series]:
    """The Date-entered columns: one per stage of each pipeline, filled for its deals."""
    last = latest_entries(events)
    wide = last.pivot(index=c.DEAL_ID, columns=c.STAGE, values=c.ENTERED_AT)
    out: dict[str, pd.Series] = {}
    for segment, (_, pipeline_label, _) in PIPELINES.items():
        mine = (deals[c.SEGMENT] == segment).to_numpy()
        for stage, (label, stage_id, _) in STAGES[segment].items():
            times = deals[c.DEAL_ID].map(wide[stage]) if stage in wide else None
            if times is None:
                times = pd.Series(pd.NaT, index=deals.index, dtype="datetime64[us, UTC]")
            times = times.where(mine)
            fmt = _local(times) if labels else _utc(times)
            out[
                f'Date entered "{label} ({pipeline_label})"'
                if labels
                else f"hs_v2_date_entered_{stage_id}"
            ] = fmt
            if labels and segment == c.B2B:  # the older property, same values
                out[f"Date entered '{label} ({pipeline_label})'"] = fmt
    label, stage_id, _ = ARCHIVED_STAGE  # its property is still exported, always empty
    out[
        f'Date entered "{label} ({PIPELINES[c.B2B][1]})"'
        if labels
        else f"hs_v2_date_entered_{stage_id}"
    ] = pd.Series(pd.NA, index=deals.index, dtype="str")
    return out


def write_hubspot(
    crm: SampleCRM,
    out_dir: str | Path,
    *,
    seed: int = 0,
    header: Literal["labels", "names"] = "labels",
) -> HubSpotExport:
    """Write ``crm`` as a HubSpot deals export into ``out_dir`` (created)."""
    if header not in ("labels", "names"):
        raise ValueError(f'header must be "labels" or "names", not {header!r}.')
    labels = header == "labels"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    deals = with_fourth_currency(crm.tables[c.DEALS]).reset_index(drop=True)
    events = crm.tables[c.STAGE_EVENTS]
    n = len(deals)
    ids = {d: str(20_240_000_001 + i) for i, d in enumerate(deals[c.DEAL_ID])}
    reps = crm.tables[c.REPS]
    owner_ids = {rep: str(73_100_001 + i) for i, rep in enumerate(reps[c.REP_ID])}
    closed = deals[c.OUTCOME] != c.OPEN
    backdated = closed & (rng.random(n) < 0.02)
    created = deals[c.CREATED_AT].where(~backdated, deals[c.CLOSED_AT] + pd.Timedelta(days=3))
    stamps = (created.max(), deals[c.CLOSED_AT].max(), events[c.ENTERED_AT].max())
    as_of = (max(stamps) + pd.Timedelta(hours=6)).floor("s")
    expected = as_of + pd.to_timedelta(rng.integers(10, 120, n), unit="D")
    close = deals[c.CLOSED_AT].where(closed, expected)
    modified = pd.concat([created, deals[c.CLOSED_AT].fillna(created)], axis=1).max(axis=1)
    modified = modified.where(modified <= as_of, as_of)
    modified.iloc[int(np.argmax(created.to_numpy()))] = as_of  # edited at export time
    description, _ = rich_text(n, rng)
    segment = deals[c.SEGMENT]
    stage_of = {(s, k): v for s, stages in STAGES.items() for k, v in stages.items()}
    pairs = zip(segment, deals[c.STAGE], strict=True)
    current = [stage_of[pair][0 if labels else 1] for pair in pairs]
    pipeline = segment.map({s: v[1 if labels else 0] for s, v in PIPELINES.items()})
    names = reps.set_index(c.REP_ID)[c.NAME]
    owner = deals[c.OWNER_ID].map(names if labels else owner_ids)
    frame = pd.DataFrame(
        {
            "Record ID" if labels else "hs_object_id": deals[c.DEAL_ID].map(ids),
            "Deal Name" if labels else "dealname": deals[c.DEAL_ID] + " " + deals[c.PRODUCT],
            "Pipeline" if labels else "pipeline": pipeline,
            "Deal Stage" if labels else "dealstage": current,
            "Amount" if labels else "amount": deals[c.AMOUNT_ORIGINAL].round(2),
            "Currency" if labels else "deal_currency_code": deals[c.CURRENCY],
            "Close Date" if labels else "closedate": (
                local_date(close, TIMEZONE) if labels else _utc(close)
            ),
            "Create Date" if labels else "createdate": _local(created) if labels else _utc(created),
            "Deal owner" if labels else "hubspot_owner_id": owner,
            "Is Closed Won" if labels else "hs_is_closed_won": flag_text(deals[c.OUTCOME] == c.WON),
            "Is Deal Closed?" if labels else "hs_is_closed": flag_text(closed),
            "Closed Lost Reason" if labels else "closed_lost_reason": deals[c.LOSS_REASON],
            "Last Modified Date" if labels else "hs_lastmodifieddate": (
                _local(modified) if labels else _utc(modified)
            ),
            "Deal Description" if labels else "description": description,
            "Lead Source" if labels else "lead_source": deals[c.SOURCE],
            "Region" if labels else "region": deals[c.REGION],
            "Product" if labels else "product": deals[c.PRODUCT],
            "Competitor" if labels else "competitor": deals[c.COMPETITOR],
        }
    )
    if labels:
        frame.insert(6, "Amount in company currency", deals[c.AMOUNT].round(2))
    else:
        frame["deal_segment"] = segment
    frame = pd.concat([frame, pd.DataFrame(_entered(deals, events, labels))], axis=1)
    n_archived = archived_entries = 0
    if not labels:
        frame["archived"] = "false"
        n_archived = max(1, n // 100)
        ghosts = frame.sample(n_archived, random_state=seed).copy()
        ghosts["hs_object_id"] = [str(20_240_000_001 + n + i) for i in range(n_archived)]
        ghosts["archived"] = "true"
        entered = [col for col in ghosts if col.startswith("hs_v2_date_entered_")]
        archived_entries = int(ghosts[entered].notna().sum().sum())
        frame = pd.concat([frame, ghosts], ignore_index=True)
    text = frame["Deal Description" if labels else "description"]
    nul_rows = int(text.str.contains("\x00", regex=False).sum())
    name = f"hubspot-crm-exports-alle-deals-{as_of:%Y-%m-%d}.csv" if labels else "deals.csv"
    write_csv(frame, out / name, encoding="utf-8-sig" if labels else "cp1252")
    _write_pipelines(out, labels)
    first_last = reps[c.NAME].str.split(" ", n=1, expand=True)
    owners = pd.DataFrame(
        {
            "id": reps[c.REP_ID].map(owner_ids),
            "email": reps[c.REP_ID].str.lower() + "@example.com",
            "firstName": first_last[0],
            "lastName": first_last[1],
            "userId": reps[c.REP_ID].map(lambda r: str(4_200_000 + int(r[1:]))),
            "teams": reps[c.TEAM],
        }
    )
    write_csv(owners, out / "owners.csv")
    return HubSpotExport(
        folder=out,
        header=header,
        deals_file=name,
        ids=ids,
        owner_ids=owner_ids,
        backdated=tuple(deals.loc[backdated, c.DEAL_ID]),
        archived=n_archived,
        archived_entries=archived_entries,
        nul_rows=nul_rows,
        as_of=as_of,
    )


def _stage_rows() -> list[dict]:
    rows = []
    for segment, (pid, plabel, porder) in PIPELINES.items():
        for order, (stage, (label, sid, p)) in enumerate(STAGES[segment].items()):
            rows.append(
                {
                    "pipeline_id": pid,
                    "pipeline_label": plabel,
                    "pipeline_display_order": porder,
                    "stage_id": sid,
                    "stage_label": label,
                    "stage_display_order": order,
                    "is_closed": stage in (c.WON, c.LOST),
                    "probability": p,
                    "archived": False,
                }
            )
        if segment == c.B2B:
            label, sid, order = ARCHIVED_STAGE
            rows.append({**rows[-1], "stage_id": sid, "stage_label": label})
            rows[-1].update(stage_display_order=order, is_closed=False, probability=0.3)
            rows[-1]["archived"] = True
    return rows


def _write_pipelines(out: Path, labels: bool) -> None:
    """``pipelines.csv`` (labels) or the Pipelines API response ``pipelines.json`` (names)."""
    rows = _stage_rows()
    if labels:
        frame = pd.DataFrame(rows)
        for col in ("is_closed", "archived"):
            frame[col] = flag_text(frame[col])
        write_csv(frame, out / "pipelines.csv")
        return
    results = []
    for pid, plabel, porder in PIPELINES.values():
        stages = [
            {
                "id": row["stage_id"],
                "label": row["stage_label"],
                "displayOrder": row["stage_display_order"],
                "metadata": {
                    "isClosed": str(row["is_closed"]).lower(),
                    "probability": str(row["probability"]),
                },
                "archived": row["archived"],
            }
            for row in rows
            if row["pipeline_id"] == pid
        ]
        results.append({"id": pid, "label": plabel, "displayOrder": porder, "stages": stages})
    text = json.dumps({"results": results}, ensure_ascii=False, indent=2)
    (out / "pipelines.json").write_text(text + "\n", encoding="utf-8")
