-- Finance's outcome export and the audit trail tell the same story per client and month: the
-- delivered notifications of the qualifying customers add up to the same number, and the ACE
-- units per experience lie between the largest single experience's and the sum over experiences
-- (a customer engaged through two experiences counts under each). Rows returned are failures.
{{ config(tags=['whole_history']) }}

with

audit as (

    select
        client_id,
        billing_month,
        sum(case when qualifies then 1 else 0 end) as ace_units,
        sum(case when qualifies then notifications_delivered else 0 end) as delivered

    from {{ ref('ace_unit_audit') }}
    group by client_id, billing_month

),

outcome as (

    select
        client_id,
        billing_month,
        sum(ace_units) as ace_units_summed,
        max(ace_units) as ace_units_largest,
        sum(notifications_delivered) as delivered

    from {{ ref('ace_unit_monthly_outcome_experience_output') }}
    group by client_id, billing_month

),

compared as (

    select
        coalesce(audit.client_id, outcome.client_id) as client_id,
        coalesce(audit.billing_month, outcome.billing_month) as billing_month,
        coalesce(audit.ace_units, 0) as audit_ace_units,
        coalesce(audit.delivered, 0) as audit_delivered,
        coalesce(outcome.ace_units_summed, 0) as outcome_ace_units_summed,
        coalesce(outcome.ace_units_largest, 0) as outcome_ace_units_largest,
        coalesce(outcome.delivered, 0) as outcome_delivered

    from audit
    full outer join outcome
        on
            audit.client_id = outcome.client_id
            and audit.billing_month = outcome.billing_month

)

select * from compared
where
    audit_delivered != outcome_delivered
    or audit_ace_units > outcome_ace_units_summed
    or audit_ace_units < outcome_ace_units_largest
