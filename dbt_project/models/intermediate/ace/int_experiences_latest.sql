-- The latest experience snapshot: the outcome and name each experience has now.
with

experiences as (

    select * from {{ ref('stg_lake__experiences') }}

),

latest_snapshot as (

    select max(snapshot_date) as snapshot_date from experiences

),

final as (

    select
        experiences.experience_id,
        experiences.client_id,
        experiences.experience_name,
        experiences.outcome,
        experiences.updated_at

    from experiences
    inner join latest_snapshot
        on experiences.snapshot_date = latest_snapshot.snapshot_date

)

select * from final
