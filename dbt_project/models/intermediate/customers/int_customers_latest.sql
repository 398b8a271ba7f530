{{ config(post_hook=iceberg_maintenance(), **incremental_by('customer_id')) }}

{#-
    The latest record per customer_id, kept up to date one replicated snapshot at a time: the same
    records as v_dim_customer (which re-ranks every snapshot ever replicated), at the cost of one
    snapshot a day. A daily run reads the landing day's snapshot and writes only the customers
    whose latest record changed; `snapshot_date` is the snapshot their record was first seen in.
-#}

{% set landing_date = ace_landing_date() %}
{% set daily = is_incremental() %}

with

snapshots as (

    select * from {{ ref('stg_lake__dim_customer') }}
    {% if daily %}
    where snapshot_date = cast('{{ landing_date or "0001-01-01" }}' as date)
    {% endif %}

),

{% if daily %}
ranked as (

    select
        *,
        {{ customer_recency_rank() }} as recency_rank

    from snapshots

),

latest as (

    select
        customer_id,
        client_id,
        is_test,
        segment,
        created_at,
        updated_at,
        snapshot_date

    from ranked
    where recency_rank = 1

),

final as (

    select latest.*
    from latest
    left join {{ this }} as stored
        on latest.customer_id = stored.customer_id
    where
        stored.customer_id is null
        -- a newer record, or the same updated_at with other content in a newer snapshot
        or latest.updated_at > stored.updated_at
        or (
            latest.updated_at = stored.updated_at
            and latest.snapshot_date > stored.snapshot_date
            and (
                {{ differs('latest.client_id', 'stored.client_id') }}
                or {{ differs('latest.is_test', 'stored.is_test') }}
                or {{ differs('latest.segment', 'stored.segment') }}
                or {{ differs('latest.created_at', 'stored.created_at') }}
            )
        )

)
{% else %}
{#-
    A full build gives what the daily folds of every snapshot, in order, give: the record is the
    one v_dim_customer takes; its snapshot_date the first snapshot of the last run of snapshots
    whose record (as each snapshot ranks it) is the newest and has this content. -#}
ranked as (

    select
        *,
        {{ customer_recency_rank(per_snapshot=true) }} as recency_rank

    from snapshots

),

snapshot_records as (

    select
        customer_id,
        client_id,
        is_test,
        segment,
        created_at,
        updated_at,
        snapshot_date,
        max(updated_at) over (partition by customer_id) as newest_updated_at

    from ranked
    where recency_rank = 1

),

newest_records as (

    select
        *,
        row_number() over (partition by customer_id order by snapshot_date desc) as newest_rank

    from snapshot_records
    where updated_at = newest_updated_at

),

latest as (

    select * from newest_records
    where newest_rank = 1

),

compared as (

    select
        newest_records.customer_id,
        newest_records.snapshot_date,
        {{ differs('newest_records.client_id', 'latest.client_id') }}
        or {{ differs('newest_records.is_test', 'latest.is_test') }}
        or {{ differs('newest_records.segment', 'latest.segment') }}
        or {{ differs('newest_records.created_at', 'latest.created_at') }} as is_other_content

    from newest_records
    inner join latest
        on newest_records.customer_id = latest.customer_id

),

last_other_content as (

    select
        customer_id,
        max(case when is_other_content then snapshot_date end) as snapshot_date

    from compared
    group by customer_id

),

first_seen as (

    select
        compared.customer_id,
        min(compared.snapshot_date) as snapshot_date

    from compared
    inner join last_other_content
        on compared.customer_id = last_other_content.customer_id
    where
        not compared.is_other_content
        and (
            last_other_content.snapshot_date is null
            or compared.snapshot_date > last_other_content.snapshot_date
        )
    group by compared.customer_id

),

final as (

    select
        latest.customer_id,
        latest.client_id,
        latest.is_test,
        latest.segment,
        latest.created_at,
        latest.updated_at,
        first_seen.snapshot_date

    from latest
    inner join first_seen
        on latest.customer_id = first_seen.customer_id

)
{% endif %}

select * from final
