with

source as (

    select * from {{ source('lake', 'usage_events') }}

),

renamed as (

    select
        cast(id as varchar) as event_id,
        cast(userid as varchar) as user_id,
        cast(format as varchar) as format,
        cast({{ adapter.quote('timestamp') }} as timestamp) as viewed_at,
        cast(ingested_at as timestamp) as ingested_at,
        cast(dt as date) as event_date

    from source

)

select * from renamed
