"""The data needs many analyses share, declared once (see :mod:`analysis.engine.shape`).

Question packages build their own shapes from these and check them on
entry; ``docs/data-needs.md`` lists every one. The ``supply`` sentences name
the fields the big CRMs export, so a user knows what to map.
"""

from __future__ import annotations

from analysis.core import columns as c
from analysis.engine.shape import Shape

STAGE_HISTORY = Shape(
    "Stage analyses (conversion, time in stage, bottlenecks, coaching)",
    needs={c.STAGE_EVENTS: (c.DEAL_ID, c.STAGE)},
    uses={c.STAGE_EVENTS: (c.ENTERED_AT,)},
    supply=(
        "Export the stage history (Salesforce OpportunityHistory, HubSpot deal stage "
        "history, Pipedrive deal updates) as stage_events, or map the deals' current "
        "stage so that ingest derives the stages each deal passed."
    ),
)

CREATED_DATES = Shape(
    "Time-based analyses (time to close, trends, period comparisons)",
    needs={c.DEALS: (c.CREATED_AT,)},
    supply=(
        "Map the deals' creation date (Salesforce CreatedDate, HubSpot createdate, "
        "Pipedrive add_time) to created_at."
    ),
)

CLOSE_DATES = Shape(
    "Close-date analyses (sales velocity, loss reasons and competitors between periods)",
    needs={c.DEALS: (c.CREATED_AT, c.CLOSED_AT)},
    supply=(
        "Map the deals' creation and close dates (Salesforce CreatedDate and CloseDate, "
        "HubSpot createdate and closedate, Pipedrive add_time and won_time/lost_time)."
    ),
)

OWNERS = Shape(
    "Rep comparison",
    needs={c.DEALS: (c.OWNER_ID,)},
    uses={c.REPS: (c.REP_ID, c.NAME, c.TEAM, c.REGION, c.HIRED_AT, c.QUOTA)},
    supply="Map the deal owner (Salesforce OwnerId, HubSpot hubspot_owner_id, Pipedrive user_id).",
)

ASSIGNMENTS = Shape(
    "Experiments",
    needs={c.ASSIGNMENTS: (c.EXPERIMENT_ID, c.UNIT_ID, c.UNIT_TYPE, c.VARIANT)},
    uses={c.ASSIGNMENTS: (c.ASSIGNED_AT, c.STAGE), c.ACTIVITIES: (c.REP_ID,)},
    supply=(
        "Export which deal, account or rep got which variant of each test (an "
        "assignments table: experiment_id, unit_id, unit_type, variant)."
    ),
)

FEEDBACK = Shape(
    "Feedback themes",
    needs={c.FEEDBACK: (c.DEAL_ID,)},
    uses={c.FEEDBACK: (c.TEXT, c.SOURCE, c.COLLECTED_AT, c.RATING)},
    supply="Export win/loss interview notes or survey comments as a feedback table.",
)

SPEND = Shape(
    "Acquisition cost",
    needs={c.SPEND: (c.PERIOD, c.CHANNEL, c.SALES_COST, c.MARKETING_COST)},
    uses={c.DEALS: (c.SOURCE,)},
    supply="Supply sales and marketing cost per period and channel as a spend table.",
)

LOSS_REASONS = Shape(
    "Loss reasons",
    needs={c.DEALS: (c.LOSS_REASON,)},
    uses={c.DEALS: (c.COMPETITOR,)},
    supply="Map the loss reason (Salesforce Loss_Reason__c, HubSpot closed_lost_reason).",
    empty_is_missing=False,
)

COMPETITORS = Shape(
    "Head-to-head",
    needs={c.DEALS: (c.COMPETITOR,)},
    supply="Map the competitor field of your CRM to competitor.",
    empty_is_missing=False,
)

PIPELINE_HISTORY = Shape(
    "Pipeline as it stood on a past date (snapshots, waterfall, forecast backtests)",
    needs={c.DEALS: (c.CREATED_AT,)},
    uses={
        c.DEALS: (c.CLOSED_AT, c.EXPECTED_CLOSE_AT, c.PROBABILITY, c.FORECAST_CATEGORY),
        c.DEAL_CHANGES: (c.CHANGED_AT, c.FIELD, c.OLD_VALUE, c.NEW_VALUE),
        c.STAGE_EVENTS: (c.STAGE, c.ENTERED_AT),
    },
    supply=(
        "Map the deals' creation date, and export the field history (Salesforce "
        "OpportunityFieldHistory, HubSpot property history, Pipedrive deal updates) as "
        "deal_changes so that amounts and close dates are as they stood."
    ),
    empty_is_missing=False,  # a check of the columns only: nothing runs before the snapshot
)

SLIPPAGE_HISTORY = Shape(
    "Slippage of expected close dates",
    needs={
        c.DEALS: (c.CREATED_AT,),
        c.DEAL_CHANGES: (c.DEAL_ID, c.CHANGED_AT, c.FIELD, c.NEW_VALUE),
    },
    uses={
        c.DEALS: (c.CLOSED_AT, c.OUTCOME, c.EXPECTED_CLOSE_AT),
        c.DEAL_CHANGES: (c.OLD_VALUE,),
    },
    supply=(
        "Export the field history of the expected close date (Salesforce "
        "OpportunityFieldHistory of CloseDate, HubSpot closedate property history, "
        "Pipedrive deal updates of expected_close_date) as deal_changes."
    ),
)

LEAD_FUNNEL = Shape(
    "Lead funnel (MQL, accepted, SQL, converted, won; speed to lead; source quality)",
    needs={c.LEADS: (c.LEAD_ID, c.CREATED_AT)},
    uses={
        c.LEADS: (
            *c.LEAD_STEPS,
            c.DISQUALIFIED_AT,
            c.DISQUALIFY_REASON,
            c.RECYCLED_AT,
            c.FIRST_RESPONSE_AT,
            c.SOURCE,
            c.CAMPAIGN,
            c.CONVERTED_DEAL_ID,
        ),
    },  # fmt: skip
    supply=(
        "Export the leads (Salesforce Lead: Id, CreatedDate, LeadSource, Status, "
        "ConvertedDate, ConvertedOpportunityId; HubSpot contacts with their lifecycle-stage "
        "dates) as a leads table: lead id, creation time, and the time of each step."
    ),
)

ADHERENCE = Shape(
    "Process adherence",
    needs={c.STAGE_EVENTS: (c.DEAL_ID, c.STAGE), c.DEALS: (c.DEAL_ID, c.OUTCOME)},
    uses={
        c.STAGE_EVENTS: (c.ENTERED_AT,),
        c.DEALS: (c.SEGMENT, c.AMOUNT, c.OWNER_ID, c.CREATED_AT, c.CLOSED_AT),
    },
    supply=(
        "Export the stage history (Salesforce OpportunityHistory, HubSpot deal stage "
        "history, Pipedrive deal updates) as stage_events; name the fields each stage "
        "requires under exit_criteria in config/stages.yaml."
    ),
)

REPEAT_PURCHASE = Shape(
    "Repeat purchases (repeat-purchase rate, time to second purchase, cohort retention)",
    needs={c.ORDERS: (c.ORDER_ID, c.CUSTOMER_ID, c.ORDERED_AT)},
    uses={c.ORDERS: (c.DEAL_ID, c.AMOUNT, c.CURRENCY, c.PRODUCT)},
    supply=(
        "Export the orders (Salesforce Order: Id, AccountId, EffectiveDate, TotalAmount, "
        "OpportunityId; a shop's order export) as an orders table: order id, customer id, "
        "order time, and the deal it came from when there is one."
    ),
)

REVENUE_RETENTION = Shape(
    "Revenue retention (gross and net retention, expansion, contraction, churn, renewal)",
    needs={c.SUBSCRIPTIONS: (c.CUSTOMER_ID, c.EFFECTIVE_AT, c.CHANGE_TYPE, c.MRR_AFTER)},
    uses={
        c.SUBSCRIPTIONS: (c.MRR_BEFORE, c.DEAL_ID, c.DISCOUNT, c.CURRENCY),
        c.DEALS: (c.ACCOUNT_ID,),
    },  # fmt: skip
    supply=(
        "Export each change of an account's recurring revenue (Salesforce Contract and "
        "renewal or upsell opportunities by Type; a billing system's subscription events) "
        "as a subscriptions table: account id, effective date, change type, monthly "
        "recurring revenue before and after; map deals.account_id to link them to deals."
    ),
)

ONBOARDING_TIME = Shape(
    "Onboarding time (won to go-live)",
    needs={c.ONBOARDING: (c.DEAL_ID, c.GO_LIVE_AT)},
    uses={c.ONBOARDING: (c.KICKOFF_AT, c.CUSTOMER_ID), c.DEALS: (c.CLOSED_AT,)},
    supply=(
        "Export each won deal's implementation milestones as an onboarding table: the deal "
        "id, and the kick-off and go-live dates (Salesforce: custom date fields on the "
        "Opportunity or Account, or a project object linked to the Opportunity; HubSpot: "
        "custom deal properties, or a ticket pipeline with kick-off and go-live stages; a "
        "PSA or project tool's project export). Leave go-live blank while the customer is "
        "not live yet."
    ),
)

# Every shared need, in the order docs/data-needs.md lists them.
ALL = (
    STAGE_HISTORY,
    CREATED_DATES,
    CLOSE_DATES,
    OWNERS,
    ASSIGNMENTS,
    FEEDBACK,
    SPEND,
    LOSS_REASONS,
    COMPETITORS,
    PIPELINE_HISTORY,
    SLIPPAGE_HISTORY,
    LEAD_FUNNEL,
    ADHERENCE,
    REPEAT_PURCHASE,
    REVENUE_RETENTION,
    ONBOARDING_TIME,
)
