select
    order_date,
    count(*)                                                          as order_count,
    count(*) filter (where status = 'returned')                       as returned_count,
    sum(paid_cents) / 100.0                                           as gross_revenue,
    coalesce(sum(paid_cents) filter (where status <> 'returned'), 0) / 100.0
                                                                      as net_revenue
from {{ ref('fct_orders') }}
group by order_date
