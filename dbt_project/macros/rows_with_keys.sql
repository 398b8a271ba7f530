{#-
    `select * from relation` restricted to the rows whose `key` is in the subquery `keys`.
    DuckDB finds the matching row ids on the key column alone, then fetches only those rows: a
    plain semi-join would scan and carry every column of every stored row through the join (on
    the benchmark's 30 days of history, 11 s instead of 1.7 s). Other engines get the plain form.
    With `rowid_as`, each row also carries its row id under that name (null where there is none:
    other engines, a unit test's fixture), for replace_stored_rows. With `key_hash`, the stored
    hash column of the key (key_hash_column.sql) is probed first when the relation has it.
-#}
{% macro rows_with_keys(relation, key, keys, rowid_as=none, key_hash=none) -%}
    {{ return(adapter.dispatch('rows_with_keys')(relation, key, keys, rowid_as, key_hash)) }}
{%- endmacro %}

{% macro default__rows_with_keys(relation, key, keys, rowid_as=none, key_hash=none) -%}
    select {% if rowid_as %}cast(null as bigint) as {{ rowid_as }}, {% endif %}*
    from {{ relation }}
    where {{ key }} in ({{ keys }})
{%- endmacro %}

{% macro duckdb__rows_with_keys(relation, key, keys, rowid_as=none, key_hash=none) -%}
    {#- In a unit test `this` is the fixture, a CTE named __dbt__cte__<model>: it has no row ids. -#}
    {%- if '__dbt__cte__' in (relation | string) -%}
    {{ return(default__rows_with_keys(relation, key, keys, rowid_as)) }}
    {%- endif %}
    {%- if key_hash and relation_has_column(relation, key_hash) %}
    {#- The hash matches first (an integer column), then the key itself among those rows only.
        Materialized, so the key's text is never read for the rows the hashes ruled out. -#}
    with hash_matches as materialized (
        select rowid as matched_rowid
        from {{ relation }}
        where {{ key_hash }} in (select {{ key_hash_of('wanted') }} from ({{ keys }}) as wanted_keys (wanted))
    )
    select {% if rowid_as %}rowid as {{ rowid_as }}, {% endif %}*
    from {{ relation }}
    where rowid in (select matched_rowid from hash_matches)
        and {{ key }} in ({{ keys }})
    {%- else %}
    select {% if rowid_as %}rowid as {{ rowid_as }}, {% endif %}*
    from {{ relation }}
    where rowid in (select rowid from {{ relation }} where {{ key }} in ({{ keys }}))
    {%- endif %}
{%- endmacro %}
