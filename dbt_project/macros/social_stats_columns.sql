{#- The typed, renamed columns every social statistics table shares (DESIGN §5.2). Names that
    are SQL words (rank, key, count) are quoted once here and renamed for the models above. -#}
{% macro social_stats_columns() %}
        cast(attendees as bigint) as attendees,
        cast(tickets as bigint) as tickets,
        cast(dimension as varchar(32)) as dimension,
        cast({{ adapter.quote('rank') }} as integer) as item_rank,
        cast({{ adapter.quote('key') }} as varchar(256)) as item_key,
        cast(label as varchar(512)) as item_label,
        cast({{ adapter.quote('count') }} as bigint) as user_count,
        cast(share as double precision) as share_of_attendees,
        cast(dt as date) as as_of_date
{% endmacro %}
