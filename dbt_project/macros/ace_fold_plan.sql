{#-
    How a daily run brings int_customer_experience_months up to date, as a dict the model reads
    (and a unit test gives as its input, `overrides: macros: ace_fold_plan: {...}`):
    {'mode': 'delta', 'absorbed': N} when every notification changed since the fold_seq the
    table absorbed (N) changed once, with a known group, since then (so its state before is the
    one the table holds); else {'mode': 'recompute', 'absorbed': N or none} (the months the
    changes touch are summed again from the notifications). A first build, a monthly rebuild, a
    table from before the tracking columns, and a notification table rebuilt since (its fold_seq
    starts again below N) recompute.
-#}
{% macro ace_fold_plan() -%}
    {%- set plan = {'mode': 'recompute', 'absorbed': none} -%}
    {%- if not execute or not is_incremental() or run_param('ACE_BILLING_MONTH') -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set states = ref('int_notification_states') -%}
    {%- if not relation_has_column(this, 'absorbed_fold_seq')
        or not relation_has_column(states, 'fold_seq') -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set absorbed = run_query(
        'select max(absorbed_fold_seq) from ' ~ this).columns[0].values()[0] -%}
    {%- if absorbed is none -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- do plan.update({'absorbed': absorbed | int}) -%}
    {%- set unsafe = run_query(
        'select count(*) from ' ~ states ~ ' where fold_seq > ' ~ plan.absorbed
        ~ ' and (prior_fold_seq is null or prior_fold_seq > ' ~ plan.absorbed
        ~ ' or prior_group_changed)').columns[0].values()[0] -%}
    {%- set latest = run_query('select max(fold_seq) from ' ~ states).columns[0].values()[0] -%}
    {%- if unsafe | int == 0 and latest is not none and latest | int >= plan.absorbed -%}
        {%- do plan.update({'mode': 'delta'}) -%}
    {%- endif -%}
    {{ return(plan) }}
{%- endmacro %}
