{#-
    relationships over several columns: every combination of `columns` in `model` is in `to`
    (rows returned = the combinations missing there).
-#}
{% test matches_in(model, to, columns) %}
select {{ columns | join(', ') }}
from {{ model }}
where {{ columns | join(' is not null and ') }} is not null
except
select {{ columns | join(', ') }}
from {{ to }}
{% endtest %}
