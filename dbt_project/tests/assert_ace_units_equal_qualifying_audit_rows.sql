-- Invariant (§5.1): for every client and month, ace_units = count(audit rows that qualify).
with

audit as (

    select
        client_id,
        billing_month,
        sum(case when qualifies then 1 else 0 end) as qualifying_rows

    from {{ ref('ace_unit_audit') }}
    group by client_id, billing_month

),

agg as (

    select * from {{ ref('ace_unit_agg') }}

)

select
    coalesce(agg.client_id, audit.client_id) as client_id,
    coalesce(agg.billing_month, audit.billing_month) as billing_month,
    agg.ace_units,
    audit.qualifying_rows

from agg
full outer join audit
    on
        agg.client_id = audit.client_id
        and agg.billing_month = audit.billing_month
where
    agg.ace_units is null
    or audit.qualifying_rows is null
    or agg.ace_units != audit.qualifying_rows
