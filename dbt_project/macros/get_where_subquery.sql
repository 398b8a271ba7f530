{#-
    dbt's `where:` test config with run-day placeholders (overrides dbt's get_where_subquery):
    a daily build (ACE_LANDING_DATE=D) tests only the rows of its day, a build without a landing
    date (the monthly rebuild, a full build) tests every row.
      __landing_date__        cast('D' as date), for a date column (landing_date, snapshot_date)
      __landing_dt__          'D', for a source's `dt` partition (a string in Glue, a date
                              locally; compared as the literal, Athena prunes the partitions)
      __landing_months_from__ the first day of the month before D's (the months a day's changes
                              fall in, nearly always)
    A `where:` without a placeholder is applied as written.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set landing_date = run_param('ACE_LANDING_DATE') -%}
    {%- if where and '__landing_' in where and not landing_date -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- if where and landing_date -%}
        {%- set day = modules.datetime.date.fromisoformat(landing_date) -%}
        {%- set month_before = (day.replace(day=1) - modules.datetime.timedelta(days=1)).replace(day=1) -%}
        {%- set where = where
            | replace('__landing_date__', "cast('" ~ day.isoformat() ~ "' as date)")
            | replace('__landing_dt__', "'" ~ day.isoformat() ~ "'")
            | replace('__landing_months_from__', "cast('" ~ month_before.isoformat() ~ "' as date)") -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
