{#-
    Run parameters are read from environment variables rather than --vars: changing a var forces
    dbt to re-parse the whole project, an env var only the models that use it.
    Returns a subquery of the billing months an incremental ACE model rebuilds in this run, or
    nothing when every month is (re)built.
-#}
{% macro ace_months_to_rebuild(changed_since=none) -%}
    {%- set billing_month = env_var('ACE_BILLING_MONTH', '') -%}
    {%- set landing_date = env_var('ACE_LANDING_DATE', '') -%}
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


{#-
    How a daily run brings int_customer_experience_months up to date: {'mode': 'delta'} when every
    notification changed since the fold_seq the table absorbed (`absorbed`) changed once, with a
    known group, since then (so its state before is the one the table holds); else
    {'mode': 'recompute'} (the months the changes touch are summed again from the notifications).
    A first build, a monthly rebuild and a table from before the tracking columns recompute.
-#}
{% macro ace_fold_plan() -%}
    {%- set plan = {'mode': 'recompute', 'absorbed': none} -%}
    {%- if not execute or not is_incremental() or env_var('ACE_BILLING_MONTH', '') -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set states = ref('int_notification_states') -%}
    {%- if not relation_has_column(this, 'absorbed_fold_seq') or not relation_has_column(states, 'fold_seq') -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set absorbed = run_query('select max(absorbed_fold_seq) from ' ~ this).columns[0].values()[0] -%}
    {%- if absorbed is none -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- do plan.update({'absorbed': absorbed | int}) -%}
    {%- set unsafe = run_query(
        'select count(*) from ' ~ states ~ ' where fold_seq > ' ~ plan.absorbed
        ~ ' and (prior_fold_seq is null or prior_fold_seq > ' ~ plan.absorbed
        ~ ' or prior_group_changed)').columns[0].values()[0] -%}
    {%- if unsafe | int == 0 -%}
        {%- do plan.update({'mode': 'delta'}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}


{#- The rows of `relation` (a model with a billing_month) in the months this run rebuilds. -#}
{% macro ace_months_of(relation, changed_since=none) -%}
    {%- set months = ace_months_to_rebuild(changed_since) | trim -%}
    select * from {{ relation }}
    {%- if months %}
    where billing_month in ({{ months }})
    {%- endif %}
{%- endmacro %}
