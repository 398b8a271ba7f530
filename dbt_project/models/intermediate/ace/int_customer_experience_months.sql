{{ config(**incremental_by('billing_month')) }}

{#
    The month's notifications summed once per (client, billing month, customer, experience): the
    audit and the outcome report both read this (about a twentieth of the notifications at the
    benchmark's scale) instead of grouping and joining every notification of the month each.

    A daily run adds to the stored sums only what changed since the fold the table absorbed
    (`absorbed_fold_seq`, see int_notification_states): each changed notification's new
    contribution in, its previous one out. Counts add up exactly; a group whose first or last
    delivery time may have been taken out is summed again from its notifications. When the
    changes cannot be read that way (a fold the months missed twice, a notification whose
    customer or experience changed, a table from before the tracking) the touched months are
    summed again from their notifications, as a first build or the monthly rebuild does.
#}

-- depends_on: {{ ref('int_notification_states') }}
{% set plan = ace_fold_plan() %}
{% if execute and is_incremental() %}
    {% if plan.mode == 'delta' %}
    {{ log('int_customer_experience_months: adding the changes since fold ' ~ plan.absorbed, info=True) }}
    {% else %}
    {{ log('int_customer_experience_months: summing the touched months again', info=True) }}
    {% endif %}
{% endif %}
{% set group_columns = ['client_id', 'billing_month', 'customer_id', 'experience_id'] %}
with

{% if plan.mode == 'delta' %}

changed as (

    select client_id, customer_id, experience_id, attempted_at, billing_month, delivered_at,
        prior_billing_month, prior_delivered_at
    from {{ ref('int_notification_states') }}
    where fold_seq > {{ plan.absorbed }}

),

-- A change that leaves the notification in the same group with the same delivery time (a later
-- receipt, a duplicate) changes no sum.
moved as (

    select * from changed
    where not (
        attempted_at is not null
        and prior_billing_month is not null
        and billing_month = prior_billing_month
        and not {{ differs('delivered_at', 'prior_delivered_at') }}
    )

),

contributions as (

    select
        client_id, billing_month, customer_id, experience_id,
        1 as attempted,
        case when delivered_at is null then 0 else 1 end as delivered,
        delivered_at as added_at,
        cast(null as timestamp) as removed_at
    from moved
    where attempted_at is not null

    union all

    -- prior_billing_month is set only for a notification that had an attempt before.
    select
        client_id, prior_billing_month, customer_id, experience_id,
        -1,
        case when prior_delivered_at is null then 0 else -1 end,
        cast(null as timestamp),
        prior_delivered_at
    from moved
    where prior_billing_month is not null

),

deltas as (

    select
        client_id, billing_month, customer_id, experience_id,
        sum(attempted) as attempted,
        sum(delivered) as delivered,
        min(added_at) as first_added_at,
        max(added_at) as last_added_at,
        min(removed_at) as first_removed_at,
        max(removed_at) as last_removed_at
    from contributions
    group by client_id, billing_month, customer_id, experience_id

),

stored as (

    select * from {{ this }}
    where billing_month in (select billing_month from deltas)

),

merged as (

    select
        {%- for column in group_columns %}
        coalesce(stored.{{ column }}, deltas.{{ column }}) as {{ column }},
        {%- endfor %}
        coalesce(stored.notifications_attempted, 0) + coalesce(deltas.attempted, 0)
            as notifications_attempted,
        coalesce(stored.notifications_delivered, 0) + coalesce(deltas.delivered, 0)
            as notifications_delivered,
        coalesce(
            least(stored.first_delivered_at, deltas.first_added_at),
            stored.first_delivered_at,
            deltas.first_added_at
        ) as first_delivered_at,
        coalesce(
            greatest(stored.last_delivered_at, deltas.last_added_at),
            stored.last_delivered_at,
            deltas.last_added_at
        ) as last_delivered_at,
        -- A delivery time taken out strictly inside the stored first..last leaves both as they
        -- are; otherwise (or when the stored row is missing) the group is summed again.
        case
            when coalesce(stored.notifications_attempted, 0) + coalesce(deltas.attempted, 0) < 0
                then true
            when deltas.first_removed_at is null then false
            when deltas.first_removed_at > stored.first_delivered_at
                and deltas.last_removed_at < stored.last_delivered_at
                then false
            else true
        end as is_resummed

    from stored
    full outer join deltas
        on stored.client_id = deltas.client_id
        and stored.billing_month = deltas.billing_month
        and stored.customer_id = deltas.customer_id
        and stored.experience_id = deltas.experience_id

),

resummed_groups as (

    select client_id, billing_month, customer_id, experience_id
    from merged
    where is_resummed

),

-- The notifications summed again: those of the groups above (a few hundred on a day). Computed
-- first: DuckDB otherwise groups every stored notification before joining the groups (its
-- eager aggregation, chosen once the table is large: 7 s instead of 0.3 s at 25M notifications).
notifications as {{ materialized_cte() }} (

    select billed.*
    from {{ ref('int_notifications_billed') }} as billed
    inner join resummed_groups
        on billed.client_id = resummed_groups.client_id
        and billed.billing_month = resummed_groups.billing_month
        and billed.customer_id = resummed_groups.customer_id
        and billed.experience_id = resummed_groups.experience_id

),

{% else %}

-- The notifications summed again: those of every month this run rebuilds.
notifications as (

    {{ ace_months_of(ref('int_notifications_billed'), plan.absorbed) }}

),

{% endif %}

resummed as (

    select
        client_id,
        billing_month,
        customer_id,
        experience_id,
        count(*) as notifications_attempted,
        count(delivered_at) as notifications_delivered,
        min(delivered_at) as first_delivered_at,
        max(delivered_at) as last_delivered_at

    from notifications
    group by client_id, billing_month, customer_id, experience_id

),

summed as (

    {% if plan.mode == 'delta' %}
    select
        client_id,
        billing_month,
        customer_id,
        experience_id,
        notifications_attempted,
        notifications_delivered,
        first_delivered_at,
        last_delivered_at
    from merged
    where not is_resummed and notifications_attempted > 0

    union all

    {% endif %}
    select
        client_id,
        billing_month,
        customer_id,
        experience_id,
        notifications_attempted,
        notifications_delivered,
        first_delivered_at,
        last_delivered_at
    from resummed

),

final as (

    select
        client_id,
        customer_id,
        experience_id,
        notifications_attempted,
        notifications_delivered,
        first_delivered_at,
        last_delivered_at,
        -- The fold this table holds the sums of. A monthly rebuild of one month absorbs no fold:
        -- it keeps the stored mark.
        {% if not run_param('ACE_BILLING_MONTH') %}
        (select max(states.fold_seq) from {{ ref('int_notification_states') }} as states)
        {% elif is_incremental() and relation_has_column(this, 'absorbed_fold_seq') %}
        (select max(absorbed_fold_seq) from {{ this }})
        {% else %}
        cast(null as bigint)
        {% endif %} as absorbed_fold_seq,
        -- Last on every engine (Athena's partition column).
        billing_month

    from summed

)

select * from final
