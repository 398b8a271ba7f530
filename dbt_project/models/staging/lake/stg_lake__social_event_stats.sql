with

source as (

    select * from {{ source('lake', 'social_event_stats') }}

),

renamed as (

    select
        cast(event_id as bigint) as event_id,
        cast(brand_id as bigint) as brand_id,
        cast(name as varchar(512)) as event_name,
        cast(starts_at as timestamp) as starts_at,
        {{ social_stats_columns() }}

    from source

)

select * from renamed
