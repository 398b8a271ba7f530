-- The usage report of a date range (DESIGN §5.4), on Athena (Trino) and DuckDB alike.
-- Parameters, in order: the first and the last day of the range (YYYY-MM-DD, both included).
-- Rows with an event_date: views and unique users per format per day (the daily trend).
-- Rows without one: the same per format over the whole range (users counted once in the range).
select
    event_date,
    format,
    count(*) as views,
    count(distinct user_id) as unique_users
from usage_views
where event_date between cast(? as date) and cast(? as date)
group by grouping sets ((event_date, format), (format))
order by event_date nulls first, format
