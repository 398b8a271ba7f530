{#-
    Run parameters are read from environment variables rather than --vars: changing a var forces
    dbt to re-parse the whole project; an env var read with run_param, nothing.
    Returns a subquery of the billing months an incremental ACE model rebuilds in this run, or
    nothing when every month is (re)built.
-#}
{% macro ace_months_to_rebuild(changed_since=none) -%}
    {%- set billing_month = run_param('ACE_BILLING_MONTH') -%}
    {%- set landing_date = ace_landing_date() -%}
    {%- if billing_month and not modules.re.fullmatch('[0-9]{4}-(0[1-9]|1[0-2])', billing_month) -%}
        {{ exceptions.raise_compiler_error(
            "ACE_BILLING_MONTH=" ~ billing_month ~ " is not a month (YYYY-MM)") }}
    {%- endif -%}
    {%- if billing_month -%}
        select {{ month_start("cast('" ~ billing_month ~ "-01' as timestamp)") }} as billing_month
    {%- elif landing_date and is_incremental() -%}
        {#- Every month a notification touched by this landing day (or a later one, when an older
            day is rerun) belongs or belonged to; with `changed_since` (a fold_seq), also those of
            every notification changed after that fold. -#}
        with touched as (
            select billing_month, latest_billing_month, prior_billing_month, attempted_at
            from {{ ref('int_notification_states') }}
            where (folded_landing_date >= cast('{{ landing_date }}' as date)
                {%- if changed_since is not none %} or fold_seq > {{ changed_since }}{% endif %})
                and attempted_at is not null
        )
        select billing_month from touched
        union
        select latest_billing_month from touched
        union
        select prior_billing_month from touched where prior_billing_month is not null
        union
        select {{ month_start('attempted_at') }} from touched
    {%- endif -%}
{%- endmacro %}
