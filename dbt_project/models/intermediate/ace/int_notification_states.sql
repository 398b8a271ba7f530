{{ config(**incremental_by('notification_id')) }}

{#-
    One row per notification_id ever seen in attempts or receipts, folded day by day: a daily run
    reads only its landing day's partitions and the stored rows of the notifications that day
    touches, so its cost follows the day's volume, not the history's. Every fold is a min / first
    choice, so folding the same day again changes nothing (reruns are identical).
-#}

with

{% set landing_date = env_var('ACE_LANDING_DATE', '') %}
{% set daily = is_incremental() %}
{#- Tables built before the change tracking columns existed get them on this run (on_schema_change). -#}
{% set tracked = daily and relation_has_column(this, 'fold_seq') %}
{% set folded_columns = [
    'client_id', 'customer_id', 'experience_id', 'channel', 'attempted_at', 'attempt_landing_date',
    'first_delivered_reported_at', 'first_receipt_at', 'last_receipt_at', 'first_receipt_landing_date',
    'is_delivered', 'delivered_at', 'billing_month', 'latest_billing_month', 'folded_landing_date'] %}

attempts as {{ materialized_cte() }} (

    -- Only the columns the fold reads (the destination hash would be carried along for nothing).
    select notification_id, client_id, customer_id, experience_id, channel, attempted_at, landing_date
    from {{ ref('stg_lake__notification_attempts') }}
    {% if daily %}
    where landing_date = cast('{{ landing_date or "0001-01-01" }}' as date)
    {% endif %}

),

receipts as {{ materialized_cte() }} (

    select notification_id, receipt_status, reported_at, landing_date
    from {{ ref('stg_lake__notification_receipts') }}
    {% if daily %}
    where landing_date = cast('{{ landing_date or "0001-01-01" }}' as date)
    {% endif %}

),

previous as {{ materialized_cte() }} (

    {% if daily %}
    {{ rows_with_keys(this, 'notification_id',
        'select notification_id from attempts union all select notification_id from receipts') }}
    {% else %}
    select 1 as nothing
    {% endif %}

),

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

-- Duplicate attempts count once: the copy that landed first (then the earliest, then by content).
first_attempt as (

    select * from (
        select
            *,
            row_number() over (
                partition by notification_id
                order by attempt_landing_date, attempted_at, client_id, customer_id, experience_id, channel
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
        ) as latest_billing_month
        {% else %}
        with_month.billing_month as latest_billing_month
        {% endif %},
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

    from with_month
    {% if daily %}
    left join previous
        on with_month.notification_id = previous.notification_id
    {% endif %}

),

{#-
    Change tracking, for int_customer_experience_months to sum only what changed: a run that
    changes a row stamps it with the next fold_seq and keeps what the row was before (its billing
    month and delivery time, the fold_seq of that state, whether its client/customer/experience
    changed). A touched row that ends up as it was keeps its stamp, so reruns stay identical.
-#}
{% if daily %}
compared as (

    select
        folded_rows.*,
        previous.notification_id is null
        {%- for column in folded_columns %}
        or {{ differs('folded_rows.' ~ column, 'previous.' ~ column) }}
        {%- endfor %} as is_changed

    from folded_rows
    left join previous
        on folded_rows.notification_id = previous.notification_id

),

next_fold as (

    select coalesce(max({{ 'fold_seq' if tracked else 'cast(null as bigint)' }}), 0) + 1 as fold_seq
    from {{ this }}

),
{% endif %}

final as (

    select
        {% if daily %}
        compared.notification_id,
        {%- for column in folded_columns %}
        compared.{{ column }},
        {%- endfor %}
        {% if tracked %}
        case when compared.is_changed then next_fold.fold_seq else previous.fold_seq end as fold_seq,
        case
            when compared.is_changed then coalesce(previous.fold_seq, 0) else previous.prior_fold_seq
        end as prior_fold_seq,
        case
            when compared.is_changed then previous.billing_month else previous.prior_billing_month
        end as prior_billing_month,
        case
            when compared.is_changed then previous.delivered_at else previous.prior_delivered_at
        end as prior_delivered_at,
        case
            when not compared.is_changed then previous.prior_group_changed
            when previous.attempted_at is null then false
            else {{ differs('compared.client_id', 'previous.client_id') }}
                or {{ differs('compared.customer_id', 'previous.customer_id') }}
                or {{ differs('compared.experience_id', 'previous.experience_id') }}
        end as prior_group_changed
        {% else %}
        {#- First run after the upgrade: nothing says what the months absorbed; they recompute. -#}
        next_fold.fold_seq,
        cast(null as bigint) as prior_fold_seq,
        previous.billing_month as prior_billing_month,
        previous.delivered_at as prior_delivered_at,
        cast(null as boolean) as prior_group_changed
        {% endif %}

    from compared
    cross join next_fold
    left join previous
        on compared.notification_id = previous.notification_id
        {% else %}
        folded_rows.*,
        -- A full build: every row is new, with no earlier state to compare with.
        cast({{ run_started_at.timestamp() | int }} as bigint) as fold_seq,
        cast(null as bigint) as prior_fold_seq,
        case when false then billing_month end as prior_billing_month,
        case when false then delivered_at end as prior_delivered_at,
        cast(null as boolean) as prior_group_changed

    from folded_rows
        {% endif %}

)

select * from final
