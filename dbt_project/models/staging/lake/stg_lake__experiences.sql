with

source as (

    select * from {{ source('lake', 'experiences') }}

),

renamed as (

    select
        cast(experience_id as varchar) as experience_id,
        cast(client_id as varchar) as client_id,
        cast(experience_name as varchar) as experience_name,
        cast(outcome as varchar) as outcome,
        cast(updated_at as timestamp) as updated_at,
        cast(dt as date) as snapshot_date

    from source

)

select * from renamed
