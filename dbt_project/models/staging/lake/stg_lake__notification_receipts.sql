with

source as (

    select * from {{ source('lake', 'notification_receipts') }}

),

renamed as (

    select
        cast(notification_id as varchar) as notification_id,
        cast(status as varchar) as receipt_status,
        cast(reported_at as timestamp) as reported_at,
        cast(provider as varchar) as provider,
        cast(dt as date) as landing_date

    from source

)

select * from renamed
