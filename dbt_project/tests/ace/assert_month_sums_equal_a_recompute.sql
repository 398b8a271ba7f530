-- The month sums the daily runs keep up to date from the fold's changes (the delta path of
-- int_customer_experience_months) equal sums computed again from every billed notification, in
-- every month. Rows returned are the differences. Scans the whole history: monthly build only.
{{ config(tags=['whole_history']) }}

with

stored as (

    select
        client_id,
        billing_month,
        customer_id,
        experience_id,
        notifications_attempted,
        notifications_delivered,
        first_delivered_at,
        last_delivered_at

    from {{ ref('int_customer_experience_months') }}

),

recomputed as (

    select
        client_id,
        billing_month,
        customer_id,
        experience_id,
        count(*) as notifications_attempted,
        count(delivered_at) as notifications_delivered,
        min(delivered_at) as first_delivered_at,
        max(delivered_at) as last_delivered_at

    from {{ ref('int_notifications_billed') }}
    group by client_id, billing_month, customer_id, experience_id

),

only_stored as (

    select * from stored
    except
    select * from recomputed

),

only_recomputed as (

    select * from recomputed
    except
    select * from stored

),

differences as (

    select
        'only stored' as side,
        client_id,
        billing_month,
        customer_id,
        experience_id,
        notifications_attempted,
        notifications_delivered

    from only_stored

    union all

    select
        'only recomputed' as side,
        client_id,
        billing_month,
        customer_id,
        experience_id,
        notifications_attempted,
        notifications_delivered

    from only_recomputed

)

select * from differences
