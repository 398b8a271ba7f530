{{
    config(
        materialized='incremental',
        on_schema_change='append_new_columns',
        incremental_strategy='delete+insert',
        unique_key='billing_month',
    )
}}

-- depends_on: {{ ref('int_notification_states') }}

-- ACE units and delivered notifications per client, month, outcome and experience.
with

notifications as (

    {{ ace_notifications_to_rebuild() }}

),

audit as (

    select * from {{ ref('ace_unit_audit') }}

),

experiences as (

    select * from {{ ref('int_experiences_latest') }}

),

qualifying_deliveries as (

    select
        notifications.client_id,
        notifications.billing_month,
        notifications.customer_id,
        notifications.experience_id,
        notifications.notification_id

    from notifications
    inner join audit
        on notifications.client_id = audit.client_id
        and notifications.billing_month = audit.billing_month
        and notifications.customer_id = audit.customer_id
    where notifications.delivered_at is not null
        and audit.qualifies

),

final as (

    select
        qualifying_deliveries.client_id,
        qualifying_deliveries.billing_month,
        coalesce(experiences.outcome, 'unknown') as outcome,
        qualifying_deliveries.experience_id,
        count(distinct qualifying_deliveries.customer_id) as ace_units,
        count(*) as notifications_delivered

    from qualifying_deliveries
    left join experiences
        on qualifying_deliveries.experience_id = experiences.experience_id
    group by
        qualifying_deliveries.client_id,
        qualifying_deliveries.billing_month,
        coalesce(experiences.outcome, 'unknown'),
        qualifying_deliveries.experience_id

)

select * from final
