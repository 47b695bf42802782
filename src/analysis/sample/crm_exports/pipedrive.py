"""The sample CRM as a Pipedrive company's export.

Files: the deals list as the web app exports it (``Deal - <field>`` labels,
stage, pipeline and owner by name, times in the company's zone; saved by
Excel in a Brazilian locale, so semicolon-separated and cp1252), and, as an
API script writes them, ``stages.csv``, ``pipelines.csv``, ``users.csv`` and
``deal_flow.csv`` (the deals' dealChange updates, times in UTC). Beside them,
``fx_rates.csv``: the finance team's rates for ``--fx-rates`` (Pipedrive
exports none). Asked for, the deals list comes with the API's field names
instead (``deals.csv``: ids, UTC, custom fields under hashed keys that
``dealFields.csv`` names).

The company sells in two pipelines, one per segment, with stage names in
Portuguese (the two pipelines name two stages differently) and a deleted
stage that no deal used. Warts planted, each returned in
:class:`PipedriveExport`: deals in four currencies (LATAM deals in pesos);
deleted deals still in the list, with their updates; updates that edit the
value, the expected close date or the status, not the stage; a rich-text
field with NUL bytes; expected close dates kept on closed deals; a segment
typed in lower case now and then.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.sample import SampleCRM
from analysis.sample.crm_exports._warts import (
    in_zone,
    local_date,
    rates_to_usd,
    rich_text,
    with_fourth_currency,
)
from analysis.sample.export import write_csv

TIMEZONE = "America/Sao_Paulo"
DEALS_FILE = "deals-4821337-27.csv"  # the web app names an export after the company and a count
PIPELINES = {c.B2B: (1, "Vendas Empresas", 0), c.B2C: (2, "Vendas Varejo", 1)}  # id, name, order
STAGE_LABELS = {  # segment's pipeline -> canonical stage -> Portuguese stage name
    c.B2B: {
        "prospecting": "Prospecção",
        "qualification": "Qualificação",
        "discovery": "Diagnóstico",
        "presentation": "Apresentação",
        "proposal": "Proposta enviada",
        "negotiation": "Negociação",
    },
    c.B2C: {
        "prospecting": "Prospecção",
        "qualification": "Qualificação",
        "discovery": "Diagnóstico",
        "presentation": "Demonstração",
        "proposal": "Proposta enviada",
        "negotiation": "Fechamento",
    },
}
DELETED_STAGE = "Contato feito"  # a deleted stage of the B2B pipeline that no deal used
PIPELINE_NAMES = {c.B2B: "vendas_empresas", c.B2C: "vendas_varejo"}  # as ingest names them
SLUGS = {  # what ingest names each stage (analysis.ingest.vendors.stages.stage_slug)
    c.B2B: {
        "prospecting": "prospecção",
        "qualification": "qualificação",
        "discovery": "diagnóstico",
        "presentation": "apresentação",
        "proposal": "proposta_enviada",
        "negotiation": "negociação",
        "won": "won",
        "lost": "lost",
    },
    c.B2C: {
        "prospecting": "prospecção",
        "qualification": "qualificação",
        "discovery": "diagnóstico",
        "presentation": "demonstração",
        "proposal": "proposta_enviada",
        "negotiation": "fechamento",
        "won": "won",
        "lost": "lost",
    },
}
API_TIME = "%Y-%m-%d %H:%M:%S"
FIRST_DEAL_ID, FIRST_USER_ID = 1001, 12_000_001
# The API names custom fields by a hash; dealFields.csv gives their names.
SEGMENT_KEY = hashlib.sha1(b"Segmento").hexdigest()
NOTES_KEY = hashlib.sha1("Observações".encode()).hexdigest()


@dataclass(frozen=True)
class PipedriveExport:
    """What the writer planted.

    Attributes
    ----------
    folder : Path
    deals_file : str
    ids : dict
        Sample deal id to Pipedrive deal id.
    user_ids : dict
        Sample rep id to Pipedrive user id.
    deleted : int
        Extra deals with status Deleted.
    deleted_updates : int
        Flow rows of the deleted deals.
    edits : int
        Flow rows that edit the value or the expected close date.
    status_changes : int
        Flow rows that set the status to won or lost.
    nul_rows : int
        Deals whose ``Observações`` hold a NUL byte.
    nul_column : str
        That field's column in the deals file.
    as_of : pandas.Timestamp
        The latest update time (the export's time).
    rates_file : Path
        Exchange rates (units per US dollar) for ``--fx-rates``.
    timezone : str
    """

    folder: Path
    deals_file: str
    ids: dict[str, str]
    user_ids: dict[str, str]
    deleted: int
    deleted_updates: int
    edits: int
    status_changes: int
    nul_rows: int
    nul_column: str
    as_of: pd.Timestamp
    rates_file: Path
    timezone: str = TIMEZONE


def _local(ts: pd.Series) -> pd.Series:
    return in_zone(ts, TIMEZONE, API_TIME)


def _utc(ts: pd.Series) -> pd.Series:
    return in_zone(ts, "UTC", API_TIME)


def _stages() -> tuple[pd.DataFrame, dict[tuple[str, str], int]]:
    """The stages file and the id of each (segment, canonical stage)."""
    rows, ids = [], {}
    for segment, labels in STAGE_LABELS.items():
        pipeline_id = PIPELINES[segment][0]
        for order, (stage, label) in enumerate(labels.items(), start=1):
            ids[segment, stage] = len(rows) + 1
            rows.append((len(rows) + 1, order, label, "true", 10 * order, pipeline_id))
        if segment == c.B2B:
            rows.append((len(rows) + 1, 2, DELETED_STAGE, "false", 15, pipeline_id))
    frame = pd.DataFrame(
        rows,
        columns=["id", "order_nr", "name", "active_flag", "deal_probability", "pipeline_id"],
    )
    frame["rotten_flag"] = "false"
    return frame, ids


def _journeys(events: pd.DataFrame) -> pd.DataFrame:
    """Each deal's stage entries in time order, repeats of the stage it is in dropped.

    Pipedrive logs a change of stage only when the stage differs.
    """
    ev = events.sort_values([c.DEAL_ID, c.ENTERED_AT], kind="stable").reset_index(drop=True)
    repeat = ev.groupby(c.DEAL_ID)[c.STAGE].shift() == ev[c.STAGE]
    return ev[~repeat].reset_index(drop=True)


def _flow(deals, journeys, ids, stage_ids, user_ids, rng) -> tuple[pd.DataFrame, int, int]:
    """dealChange rows: stage moves, status set to won/lost, value and expected-close edits."""
    info = deals.set_index(c.DEAL_ID)
    segment = journeys[c.DEAL_ID].map(info[c.SEGMENT])
    prev = journeys.groupby(c.DEAL_ID)[c.STAGE].shift()
    nxt = journeys.groupby(c.DEAL_ID)[c.ENTERED_AT].shift(-1)
    terminal = journeys[c.STAGE].isin([c.WON, c.LOST])
    stage_id = [stage_ids.get((s, st)) for s, st in zip(segment, journeys[c.STAGE], strict=True)]
    prev_id = [stage_ids.get((s, st)) for s, st in zip(segment, prev, strict=True)]
    base = pd.DataFrame(
        {
            "item_id": journeys[c.DEAL_ID].map(ids),
            "user_id": journeys[c.DEAL_ID].map(info[c.OWNER_ID]).map(user_ids),
            "at": journeys[c.ENTERED_AT],
        }
    )
    moves = base[prev.notna() & ~terminal].assign(
        field_key="stage_id",
        old_value=pd.Series(prev_id, dtype="object")[prev.notna() & ~terminal],
        new_value=pd.Series(stage_id, dtype="object")[prev.notna() & ~terminal],
    )
    status = base[terminal].assign(
        field_key="status", old_value="open", new_value=journeys.loc[terminal, c.STAGE]
    )
    # An edit halfway through a stay in an open stage that the deal later leaves.
    edit = (nxt.notna() & ~terminal & (rng.random(len(journeys)) < 0.3)).to_numpy()
    value = journeys.loc[edit, c.DEAL_ID].map(info[c.AMOUNT_ORIGINAL]).round(2)
    is_value = rng.random(int(edit.sum())) < 0.5
    start = journeys.loc[edit, c.ENTERED_AT]
    edits = base[edit].assign(
        at=start + (nxt[edit] - start) / 2,
        field_key=np.where(is_value, "value", "expected_close_date"),
        old_value=np.where(is_value, (value * 0.9).round(2).astype(str), ""),
        new_value=np.where(is_value, value.astype(str), local_date(nxt[edit], TIMEZONE)),
    )
    flow = pd.concat([moves, status, edits], ignore_index=True)
    flow = flow.sort_values(["item_id", "at"], kind="stable").reset_index(drop=True)
    return flow, int(edit.sum()), int(terminal.sum())


def _flow_file(flow: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(1, len(flow) + 1),
            "item_id": flow["item_id"],
            "user_id": flow["user_id"],
            "field_key": flow["field_key"],
            "old_value": flow["old_value"].astype("str").where(flow["old_value"].notna(), ""),
            "new_value": flow["new_value"].astype("str"),
            "is_bulk_update_flag": "false",
            "log_time": _utc(flow["at"]),
        }
    )


def _deals_api(deals, ids, user_ids, stage_ids, journeys, as_of, rng) -> pd.DataFrame:
    """The deals as the API gives them: ids for stage, pipeline and owner, times in UTC."""
    n = len(deals)
    closed = deals[c.OUTCOME] != c.OPEN
    updated = pd.concat([deals[c.CREATED_AT], deals[c.CLOSED_AT]], axis=1).max(axis=1)
    last_move = journeys.groupby(c.DEAL_ID)[c.ENTERED_AT].max()
    updated = pd.concat([updated, deals[c.DEAL_ID].map(last_move)], axis=1).max(axis=1)
    updated.iloc[int(np.argmax(deals[c.CREATED_AT].to_numpy()))] = as_of  # edited at export time
    open_stage = journeys[~journeys[c.STAGE].isin([c.WON, c.LOST])].drop_duplicates(
        c.DEAL_ID, keep="last"
    )
    current = deals[c.DEAL_ID].map(
        dict(zip(open_stage[c.DEAL_ID], open_stage[c.STAGE], strict=True))
    )
    # Pipedrive keeps the expected close date on closed deals too.
    expected = pd.Series(
        as_of + pd.to_timedelta(rng.integers(10, 120, n), unit="D"), index=deals.index
    ).where(~closed, deals[c.CLOSED_AT] + pd.Timedelta(days=5))
    notes, _ = rich_text(n, rng)
    won, lost = deals[c.OUTCOME] == c.WON, deals[c.OUTCOME] == c.LOST
    return pd.DataFrame(
        {
            "id": deals[c.DEAL_ID].map(ids),
            "title": deals[c.PRODUCT].fillna("") + " - " + deals[c.ACCOUNT_ID],
            "value": deals[c.AMOUNT_ORIGINAL].round(2),
            "currency": deals[c.CURRENCY],
            "status": deals[c.OUTCOME],
            "stage_id": [stage_ids[s, st] for s, st in zip(deals[c.SEGMENT], current, strict=True)],
            "pipeline_id": deals[c.SEGMENT].map(lambda s: PIPELINES[s][0]),
            "user_id": deals[c.OWNER_ID].map(user_ids),
            "add_time": _utc(deals[c.CREATED_AT]),
            "update_time": _utc(updated),
            "won_time": _utc(deals[c.CLOSED_AT]).where(won),
            "lost_time": _utc(deals[c.CLOSED_AT]).where(lost),
            "close_time": _utc(deals[c.CLOSED_AT]),
            "expected_close_date": local_date(expected, TIMEZONE),
            "lost_reason": deals[c.LOSS_REASON],
            SEGMENT_KEY: deals[c.SEGMENT].where(rng.random(n) > 0.05, deals[c.SEGMENT].str.lower()),
            NOTES_KEY: notes,
        }
    )


def _deals_web(api: pd.DataFrame, stages: pd.DataFrame, users: dict[str, str]) -> pd.DataFrame:
    """The same deals as the web app exports them: labels, names, times in the company's zone."""

    def local(text: pd.Series) -> pd.Series:
        return _local(pd.to_datetime(text, utc=True)).where(text.notna())

    return pd.DataFrame(
        {
            "Deal - ID": api["id"],
            "Deal - Title": api["title"],
            "Deal - Value": api["value"],
            "Deal - Currency": api["currency"],
            "Deal - Status": api["status"].str.title(),
            "Deal - Pipeline": api["pipeline_id"].map({v[0]: v[1] for v in PIPELINES.values()}),
            "Deal - Stage": api["stage_id"].map(
                dict(zip(stages["id"], stages["name"], strict=True))
            ),
            "Deal - Owner": api["user_id"].map(users),
            "Deal - Deal created": local(api["add_time"]),
            "Deal - Update time": local(api["update_time"]),
            "Deal - Won time": local(api["won_time"]),
            "Deal - Lost time": local(api["lost_time"]),
            "Deal - Deal closed on": local(api["close_time"]),
            "Deal - Expected close date": api["expected_close_date"],
            "Deal - Lost reason": api["lost_reason"],
            "Deal - Segmento": api[SEGMENT_KEY],
            "Deal - Observações": api[NOTES_KEY],
        }
    )


def write_pipedrive(
    crm: SampleCRM,
    out_dir: str | Path,
    *,
    seed: int = 0,
    deals_from: Literal["web", "api"] = "web",
) -> PipedriveExport:
    """Write ``crm`` as a Pipedrive export into ``out_dir`` (created).

    Parameters
    ----------
    crm : SampleCRM
        From :func:`analysis.sample.generate_sample`.
    out_dir : path
        Export folder (created).
    seed : int
        Seed of the warts.
    deals_from : {"web", "api"}
        Write the deals list as the web app exports it (``Deal - <field>``
        labels, names, the company's zone, semicolons and cp1252), or with the
        API's field names (ids, UTC, custom fields under hashed keys named in
        ``dealFields.csv``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    deals = with_fourth_currency(crm.tables[c.DEALS]).reset_index(drop=True)
    journeys = _journeys(crm.tables[c.STAGE_EVENTS])
    n = len(deals)
    ids = {d: str(FIRST_DEAL_ID + i) for i, d in enumerate(deals[c.DEAL_ID])}
    reps = crm.tables[c.REPS]
    user_ids = {rep: str(FIRST_USER_ID + i) for i, rep in enumerate(reps[c.REP_ID])}
    stages, stage_ids = _stages()
    flow, n_edits, n_status = _flow(deals, journeys, ids, stage_ids, user_ids, rng)
    stamps = (deals[c.CREATED_AT].max(), deals[c.CLOSED_AT].max(), flow["at"].max())
    as_of = (max(stamps) + pd.Timedelta(hours=6)).floor("s")

    listed = _deals_api(deals, ids, user_ids, stage_ids, journeys, as_of, rng)
    n_deleted = max(1, n // 100)
    ghosts = listed.sample(n_deleted, random_state=seed).copy()
    new_ids = (str(FIRST_DEAL_ID + n + i) for i in range(n_deleted))
    ghost_ids = dict(zip(ghosts["id"], new_ids, strict=True))
    ghosts["id"] = ghosts["id"].map(ghost_ids)
    ghosts["status"] = "deleted"
    listed = pd.concat([listed, ghosts], ignore_index=True)
    nul_rows = int(listed[NOTES_KEY].str.contains("\x00", regex=False).sum())
    if deals_from == "web":
        names = dict(zip(reps[c.REP_ID].map(user_ids), reps[c.NAME], strict=True))
        deals_file, nul_column = DEALS_FILE, "Deal - Observações"
        write_csv(_deals_web(listed, stages, names), out / deals_file, encoding="cp1252", sep=";")
    else:
        deals_file, nul_column = "deals.csv", NOTES_KEY
        write_csv(listed, out / deals_file)
        fields = [(SEGMENT_KEY, "Segmento", "varchar"), (NOTES_KEY, "Observações", "text")]
        write_csv(
            pd.DataFrame(fields, columns=["key", "name", "field_type"]), out / "dealFields.csv"
        )

    ghost_flow = flow[flow["item_id"].isin(ghost_ids)].assign(
        item_id=lambda f: f["item_id"].map(ghost_ids)
    )
    write_csv(_flow_file(pd.concat([flow, ghost_flow], ignore_index=True)), out / "deal_flow.csv")
    write_csv(stages, out / "stages.csv")
    write_csv(
        pd.DataFrame(
            [(pid, name, order, "true") for pid, name, order in PIPELINES.values()][::-1],
            columns=["id", "name", "order_nr", "active"],
        ),
        out / "pipelines.csv",
    )
    write_csv(
        pd.DataFrame(
            {
                "id": reps[c.REP_ID].map(user_ids),
                "name": reps[c.NAME],
                "email": reps[c.REP_ID].str.lower() + "@example.com",
                "active_flag": "true",
            }
        ),
        out / "users.csv",
    )
    rates = rates_to_usd(crm.truth)
    rates_file = out / "fx_rates.csv"
    write_csv(
        pd.DataFrame({"currency": list(rates), "rate": [1.0 / v for v in rates.values()]}),
        rates_file,
    )
    return PipedriveExport(
        folder=out,
        deals_file=deals_file,
        ids=ids,
        user_ids=user_ids,
        deleted=n_deleted,
        deleted_updates=len(ghost_flow),
        edits=n_edits,
        status_changes=n_status,
        nul_rows=nul_rows,
        nul_column=nul_column,
        as_of=as_of,
        rates_file=rates_file,
    )
