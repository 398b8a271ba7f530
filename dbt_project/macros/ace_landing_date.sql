{#-
    The landing day an incremental ACE model folds (env ACE_LANDING_DATE, YYYY-MM-DD; `analytics
    run ace_daily --date` sets it), or '' when the build folds no day (ACE_BILLING_MONTH, a
    month's rebuild; a first or --full-refresh build reads the whole lake). An incremental build
    with neither would silently fold nothing: it is a compile error naming the variable to set,
    as is a landing date that is not a calendar date.
-#}
{% macro ace_landing_date() -%}
    {%- set landing_date = run_param('ACE_LANDING_DATE') -%}
    {%- if landing_date -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', landing_date) -%}
            {{ exceptions.raise_compiler_error(
                "ACE_LANDING_DATE=" ~ landing_date ~ " is not a date (YYYY-MM-DD)") }}
        {%- endif -%}
        {%- do modules.datetime.date.fromisoformat(landing_date) -%}
    {%- elif execute and is_incremental() and not run_param('ACE_BILLING_MONTH') -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " is built incrementally: set ACE_LANDING_DATE=YYYY-MM-DD (the landing "
            ~ "day to fold; analytics run ace_daily --date sets it) or ACE_BILLING_MONTH=YYYY-MM "
            ~ "(a month's rebuild), or build it with --full-refresh") }}
    {%- endif -%}
    {{ return(landing_date) }}
{%- endmacro %}
