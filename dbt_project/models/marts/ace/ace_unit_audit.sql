{{ config(**incremental_by('billing_month')) }}

-- depends_on: {{ ref('int_notification_states') }}

-- One row per (client, billing month, customer) with any notification belonging to the month.
with

customer_experiences as (

    {{ ace_months_of(ref('int_customer_experience_months')) }}

),

customers as (

    select * from {{ ref('int_customers_latest') }}

),

per_customer as (

    select
        client_id,
        billing_month,
        customer_id,
        sum(notifications_attempted) as notifications_attempted,
        sum(notifications_delivered) as notifications_delivered,
        min(first_delivered_at) as first_delivered_at,
        max(last_delivered_at) as last_delivered_at,
        -- One row per experience already; a missing experience_id is not an experience.
        count(experience_id) as distinct_experiences

    from customer_experiences
    group by client_id, billing_month, customer_id

),

classified as (

    select
        per_customer.*,
        coalesce(customers.is_test, false) as is_test_customer,
        customers.customer_id is not null as is_customer_known,
        case
            when per_customer.notifications_delivered = 0 then 'not_delivered'
            when coalesce(customers.is_test, false) then 'test_customer'
            else 'qualified'
        end as reason

    from per_customer
    left join customers
        on per_customer.customer_id = customers.customer_id

),

final as (

    -- The contract's columns and types (_ace__models.yml), billing_month last on every engine
    -- (Athena's partition column).
    select
        client_id,
        customer_id,
        cast(notifications_attempted as bigint) as notifications_attempted,
        cast(notifications_delivered as bigint) as notifications_delivered,
        first_delivered_at,
        last_delivered_at,
        cast(distinct_experiences as bigint) as distinct_experiences,
        is_test_customer,
        is_customer_known as customer_known,
        reason = 'qualified' as qualifies,
        cast(reason as varchar) as reason,
        billing_month

    from classified

)

select * from final
