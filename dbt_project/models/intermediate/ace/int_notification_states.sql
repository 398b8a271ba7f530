{{ config(
    pre_hook="{{ refresh_key_hash('notification_id') }}",
    post_hook=iceberg_maintenance(),
    **incremental_by(
        'notification_id', by_stored_rowid=true, iceberg_partitioned_by=['billing_month'])
) }}

{#-
    One row per notification_id ever seen in attempts or receipts, folded day by day: a daily run
    reads only its landing day's partitions and the stored rows of the notifications that day
    touches, so its cost follows the day's volume, not the history's. Every fold is a min / first
    choice, so folding the same day again changes nothing (reruns are identical).
-#}

with

{#- A daily fold without its day would fold nothing, silently: refused (ace_landing_date). -#}
{% set landing_date = ace_landing_date() %}
{% set daily = is_incremental() %}
{#- DuckDB: the key's stored hash, probed by the daily lookup (key_hash_column.sql);
    none elsewhere. -#}
{% set key_hash = key_hash_column('notification_id') %}
{#- On DuckDB a daily run's rows carry the row id of the stored row each replaces: the stored rows
    are then deleted by row id (incremental_by, replace_stored_rows), not looked up again. -#}
{% set by_rowid = daily and config.get('incremental_strategy') == 'replace_stored_rows' %}
{#- Tables built before the change tracking columns existed get them on this run (on_schema_change;
    on DuckDB, replace_stored_rows). -#}
{% set tracked = daily and relation_has_column(this, 'fold_seq') %}
{% set contribution_columns = [
    'attempted_at', 'billing_month', 'delivered_at', 'client_id', 'customer_id', 'experience_id'] %}
{% set tracking_columns = [
    'fold_seq', 'prior_fold_seq', 'prior_billing_month', 'prior_delivered_at', 'prior_group_changed'] %}
{% set tracking_types = {
    'fold_seq': 'bigint', 'prior_fold_seq': 'bigint', 'prior_billing_month': 'date',
    'prior_delivered_at': 'timestamp', 'prior_group_changed': 'boolean'} %}
{% set folded_columns = [
    'client_id', 'customer_id', 'experience_id', 'channel', 'attempted_at', 'attempt_landing_date',
    'first_delivered_reported_at', 'first_receipt_at', 'last_receipt_at', 'first_receipt_landing_date',
    'is_delivered', 'delivered_at', 'billing_month', 'latest_billing_month', 'folded_landing_date'] %}

attempts as {{ materialized_cte() }} (

    -- Only the columns the fold reads (the destination hash would be carried along for nothing).
    select
        notification_id,
        client_id,
        customer_id,
        experience_id,
        channel,
        attempted_at,
        landing_date
    from {{ ref('stg_lake__notification_attempts') }}
    {% if daily %}
    where landing_date = cast('{{ landing_date or "0001-01-01" }}' as date)
    {% endif %}

),

receipts as {{ materialized_cte() }} (

    select
        notification_id,
        receipt_status,
        reported_at,
        landing_date
    from {{ ref('stg_lake__notification_receipts') }}
    {% if daily %}
    where landing_date = cast('{{ landing_date or "0001-01-01" }}' as date)
    {% endif %}

),

{% if daily %}
previous as {{ materialized_cte() }} (

    {{ rows_with_keys(this, 'notification_id',
        'select notification_id from attempts union all select notification_id from receipts',
        rowid_as='stored_rowid' if by_rowid else none, key_hash=key_hash) }}

),
{% endif %}

attempt_candidates as (

    select
        notification_id,
        client_id,
        customer_id,
        experience_id,
        channel,
        attempted_at,
        landing_date as attempt_landing_date

    from attempts

    {% if daily %}
    union all

    select
        notification_id,
        client_id,
        customer_id,
        experience_id,
        channel,
        attempted_at,
        attempt_landing_date

    from previous
    where attempt_landing_date is not null
    {% endif %}

),

-- Duplicate attempts count once: the copy that landed first (then the earliest, then by
-- content).
first_attempt as (

    select * from (
        select
            *,
            row_number() over (
                partition by notification_id
                order by
                    attempt_landing_date, attempted_at, client_id, customer_id, experience_id,
                    channel
            ) as copy_number

        from attempt_candidates
    ) as ranked
    where copy_number = 1

),

receipt_candidates as (

    select
        notification_id,
        case when receipt_status = 'delivered' then reported_at end as delivered_reported_at,
        reported_at,
        landing_date

    from receipts

    {% if daily %}
    union all

    select
        notification_id,
        first_delivered_reported_at,
        first_receipt_at,
        first_receipt_landing_date

    from previous
    where first_receipt_at is not null

    union all

    select
        notification_id,
        null,
        last_receipt_at,
        first_receipt_landing_date

    from previous
    where last_receipt_at is not null
    {% endif %}

),

receipt_summary as (

    select
        notification_id,
        min(delivered_reported_at) as first_delivered_reported_at,
        min(reported_at) as first_receipt_at,
        max(reported_at) as last_receipt_at,
        min(landing_date) as first_receipt_landing_date

    from receipt_candidates
    group by notification_id

),

folded as (

    select
        coalesce(first_attempt.notification_id, receipt_summary.notification_id) as notification_id,
        first_attempt.client_id,
        first_attempt.customer_id,
        first_attempt.experience_id,
        first_attempt.channel,
        first_attempt.attempted_at,
        first_attempt.attempt_landing_date,
        receipt_summary.first_delivered_reported_at,
        receipt_summary.first_receipt_at,
        receipt_summary.last_receipt_at,
        receipt_summary.first_receipt_landing_date

    from first_attempt
    full outer join receipt_summary
        on first_attempt.notification_id = receipt_summary.notification_id

),

billed as (

    select
        *,
        first_delivered_reported_at is not null and attempted_at is not null as is_delivered,
        -- A receipt stamped before the attempt (provider clock skew) is read as the attempt time.
        case
            when attempted_at is null then null
            when first_delivered_reported_at < attempted_at then attempted_at
            else first_delivered_reported_at
        end as delivered_at

    from folded

),

with_month as (

    select
        *,
        {{ month_start('coalesce(delivered_at, attempted_at)') }} as billing_month

    from billed

),

folded_rows as (

    select
        with_month.*,
        -- An earlier receipt can move a notification to an earlier month: remember the latest
        -- month it ever belonged to, so that month is rebuilt too.
        {% if daily %}
        greatest(
            with_month.billing_month,
            coalesce(previous.latest_billing_month, with_month.billing_month)
        ) as latest_billing_month,
        {% else %}
        with_month.billing_month as latest_billing_month,
        {% endif %}
        -- The latest landing day whose run wrote this row (kept when an older day is rerun, so
        -- reruns stay identical): a daily run finds what it touched by a filter on it.
        {% if daily %}
        greatest(
            coalesce(previous.folded_landing_date, cast('{{ landing_date }}' as date)),
            cast('{{ landing_date }}' as date)
        )
        {% elif landing_date %}
        cast('{{ landing_date }}' as date)
        {% else %}
        cast(null as date)
        {% endif %} as folded_landing_date
    {%- if daily %},
        -- What the row was, for the change tracking below (one join with the stored rows: on the
        -- day's millions of rows every further join costs a hash table of them).
        previous.notification_id is not null as had_previous,
        {%- if by_rowid %}
        previous.stored_rowid,
        {%- endif %}
        {%- for column in contribution_columns %}
        previous.{{ column }} as previous_{{ column }},
        {%- endfor %}
        {%- for column in tracking_columns %}
        {{ 'previous.' ~ column if tracked else 'cast(null as ' ~ tracking_types[column] ~ ')' }} as previous_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        {%- endif %}

    from with_month
    {% if daily %}
    left join previous
        on with_month.notification_id = previous.notification_id
    {% endif %}

),

{#-
    Change tracking, for int_customer_experience_months to sum only what changed: a run that
    changes what a row counts for (attempt, billing month, delivery time, client / customer /
    experience) stamps it with the next fold_seq and keeps what the row was before: the fold_seq
    of that state, its billing month and delivery time, whether its client / customer /
    experience changed. A row whose contribution stays as it was keeps its stamp, so reruns stay
    identical.
-#}
{% if daily %}
compared as (

    select
        folded_rows.*,
        not had_previous
        {%- for column in contribution_columns %}
        or {{ differs(column, 'previous_' ~ column) }}
        {%- endfor %} as is_changed

    from folded_rows

),
{% endif %}

final as (

    select
        {%- if by_rowid %}
        stored_rowid,
        {%- endif %}
        {%- if key_hash %}
        {{ key_hash_of('notification_id') }} as {{ key_hash }},
        {%- endif %}
        {%- for column in ['notification_id'] + folded_columns %}
        {{ column }},
        {%- endfor %}
        {% if daily and tracked %}
        case
            when is_changed then (select coalesce(max(fold_seq), 0) + 1 from {{ this }})
            else previous_fold_seq
        end as fold_seq,
        case when is_changed then coalesce(previous_fold_seq, 0) else previous_prior_fold_seq end
            as prior_fold_seq,
        case when is_changed then previous_billing_month else previous_prior_billing_month end
            as prior_billing_month,
        case when is_changed then previous_delivered_at else previous_prior_delivered_at end
            as prior_delivered_at,
        case
            when not is_changed then previous_prior_group_changed
            when previous_attempted_at is null then false
            else {{ differs('client_id', 'previous_client_id') }}
                or {{ differs('customer_id', 'previous_customer_id') }}
                or {{ differs('experience_id', 'previous_experience_id') }}
        end as prior_group_changed
        {% elif daily %}
        {#- First run after the upgrade: nothing says what the months absorbed; they recompute. -#}
        cast(1 as bigint) as fold_seq,
        cast(null as bigint) as prior_fold_seq,
        previous_billing_month as prior_billing_month,
        previous_delivered_at as prior_delivered_at,
        cast(null as boolean) as prior_group_changed
        {% else %}
        -- A full build: every row is new, with no earlier state to compare with. Its stamp is a
        -- constant (no run time: two rebuilds are identical); the month sums see a rebuild by
        -- their absorbed fold_seq being above it (ace_fold_plan) and sum the touched months.
        cast(1 as bigint) as fold_seq,
        cast(null as bigint) as prior_fold_seq,
        case when false then billing_month end as prior_billing_month,
        case when false then delivered_at end as prior_delivered_at,
        cast(null as boolean) as prior_group_changed
        {% endif %}

    from {{ 'compared' if daily else 'folded_rows' }}

)

select * from final
