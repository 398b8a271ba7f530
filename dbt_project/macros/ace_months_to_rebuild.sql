{#-
    Run parameters are read from environment variables rather than --vars: changing a var forces
    dbt to re-parse the whole project, an env var only the models that use it.
    Returns a subquery of the billing months an incremental ACE model rebuilds in this run, or
    nothing when every month is (re)built.
-#}
{% macro ace_months_to_rebuild() -%}
    {%- set billing_month = env_var('ACE_BILLING_MONTH', '') -%}
    {%- set landing_date = env_var('ACE_LANDING_DATE', '') -%}
    {%- if billing_month -%}
        select {{ month_start("cast('" ~ billing_month ~ "-01' as timestamp)") }} as billing_month
    {%- elif landing_date and is_incremental() -%}
        {#- Every month a notification touched by this landing day (or a later one, when an older
            day is rerun) belongs or belonged to. -#}
        with touched as (
            select billing_month, latest_billing_month, attempted_at
            from {{ ref('int_notification_states') }}
            where folded_landing_date >= cast('{{ landing_date }}' as date)
                and attempted_at is not null
        )
        select billing_month from touched
        union
        select latest_billing_month from touched
        union
        select {{ month_start('attempted_at') }} from touched
    {%- endif -%}
{%- endmacro %}


{#- The rows of `relation` (a model with a billing_month) in the months this run rebuilds. -#}
{% macro ace_months_of(relation) -%}
    {%- set months = ace_months_to_rebuild() | trim -%}
    select * from {{ relation }}
    {%- if months %}
    where billing_month in ({{ months }})
    {%- endif %}
{%- endmacro %}
