{#- A pre-hook (rendered when it runs): the stored key hashes made current (key_hash_column.sql).
    Rows the model writes always carry their hash, so once a table has its hashes only the
    one-row check runs daily. -#}
{% macro refresh_key_hash(key) -%}
    {%- set column = key_hash_column(key) -%}
    {%- if not (column and execute and is_incremental()) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set fill -%}
    update {{ this }} set {{ column }} = {{ key_hash_of(key) }}
    {%- endset -%}
    {%- if not relation_has_column(this, column) -%}
    alter table {{ this }} add column {{ column }} ubigint;
    {{ fill }}
    {%- else -%}
        {%- set probe -%}
        select count(*) from (
            select {{ column }} as stored, {{ key }} as key_value
            from {{ this }}
            where {{ column }} is not null
            limit 1
        ) as probe
        where probe.stored <> {{ key_hash_of('probe.key_value') }}
        {%- endset -%}
        {%- if run_query(probe).columns[0].values()[0] > 0 -%}
    {{ fill }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
