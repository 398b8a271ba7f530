{#-
    The run's landing day (ACE_LANDING_DATE) has rows in `model`, whose `column` is the landing
    day partition: a daily build fails here, before any model is built, when the day never landed
    (a missing day would otherwise fold nothing, like a quiet one). One failing row names the
    table and the day. Nothing to check without a landing date (a monthly or full build).
-#}
{% test landing_day_present(model, column) %}
{%- set landing_date = run_param('ACE_LANDING_DATE') -%}
{%- if landing_date %}
select
    '{{ model.identifier }}' as table_name,
    '{{ landing_date }}' as landing_date,
    count(*) as rows_landed
from {{ model }}
where {{ column }} = '{{ landing_date }}'
having count(*) = 0
{%- else %}
select 1 as nothing
from {{ model }}
where 1 = 0
{%- endif %}
{% endtest %}
