with

source as (

    select * from {{ source('lake', 'dim_customer') }}

),

renamed as (

    select
        cast(customer_id as varchar) as customer_id,
        cast(client_id as varchar) as client_id,
        cast(is_test as boolean) as is_test,
        cast(segment as varchar) as segment,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at,
        cast(dt as date) as snapshot_date

    from source

)

select * from renamed
