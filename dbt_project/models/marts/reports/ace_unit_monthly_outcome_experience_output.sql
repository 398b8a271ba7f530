{{ config(**incremental_by('billing_month')) }}

-- depends_on: {{ ref('int_notification_states') }}

-- ACE units and delivered notifications per client, month, outcome and experience.
with

customer_experiences as (

    {{ ace_months_of(ref('int_customer_experience_months')) }}

),

-- The audit rows of the same months (not of every month ever billed).
audit as (

    {{ ace_months_of(ref('ace_unit_audit')) }}

),

experiences as (

    select * from {{ ref('int_experiences_latest') }}

),

-- One row per qualifying customer and experience with a delivery in the month.
qualifying_deliveries as (

    select
        customer_experiences.client_id,
        customer_experiences.billing_month,
        customer_experiences.customer_id,
        customer_experiences.experience_id,
        customer_experiences.notifications_delivered

    from customer_experiences
    inner join audit
        on
            customer_experiences.client_id = audit.client_id
            and customer_experiences.billing_month = audit.billing_month
            and customer_experiences.customer_id = audit.customer_id
    where
        customer_experiences.notifications_delivered > 0
        and audit.qualifies

),

final as (

    select
        qualifying_deliveries.client_id,
        cast(coalesce(experiences.outcome, 'unknown') as varchar) as outcome,
        qualifying_deliveries.experience_id,
        cast(count(distinct qualifying_deliveries.customer_id) as bigint) as ace_units,
        cast(sum(qualifying_deliveries.notifications_delivered) as bigint)
            as notifications_delivered,
        -- Last on every engine (Athena's partition column), as in the contract.
        qualifying_deliveries.billing_month

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
