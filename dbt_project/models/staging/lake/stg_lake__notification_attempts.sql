with

source as (

    select * from {{ source('lake', 'notification_attempts') }}

),

renamed as (

    select
        cast(notification_id as varchar) as notification_id,
        cast(client_id as varchar) as client_id,
        cast(customer_id as varchar) as customer_id,
        cast(experience_id as varchar) as experience_id,
        cast(channel as varchar) as channel,
        cast(destination_hash as varchar) as destination_hash,
        cast(attempted_at as timestamp) as attempted_at,
        cast(dt as date) as landing_date

    from source

)

select * from renamed
