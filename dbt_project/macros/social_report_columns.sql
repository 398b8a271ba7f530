{#- One row per subject: the long statistics pivoted into the report's columns. -#}
{% macro social_report_columns() %}
{%- set genders = ['female', 'male', 'other', 'unknown'] -%}
{%- set ages = [('<18', 'under_18'), ('18-24', '18_24'), ('25-34', '25_34'), ('35-44', '35_44'),
                ('45-54', '45_54'), ('55+', '55_plus'), ('unknown', 'unknown')] -%}
        max(attendees) as attendees,
        max(tickets) as tickets,
{%- for gender in genders %}
        max(case when dimension = 'gender' and item_key = '{{ gender }}' then share_of_attendees end) as {{ gender }}_share,
{%- endfor %}
{%- for key, column in ages %}
        max(case when dimension = 'age' and item_key = '{{ key }}' then share_of_attendees end) as age_{{ column }}_share,
{%- endfor %}
{%- for dimension in ['page', 'page_category', 'artist', 'genre'] %}
        max(case when dimension = '{{ dimension }}' and item_rank = 1 then item_label end) as top_{{ dimension }},
{%- endfor %}
        max(as_of_date) as as_of_date
{% endmacro %}
