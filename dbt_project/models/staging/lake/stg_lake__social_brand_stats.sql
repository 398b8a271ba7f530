with

source as (

    select * from {{ source('lake', 'social_brand_stats') }}

),

renamed as (

    select
        cast(brand_id as bigint) as brand_id,
        cast(events as bigint) as events,
        {{ social_stats_columns() }}

    from source

)

select * from renamed
