select
    c.customer_id,
    c.full_name,
    c.country,
    c.order_count,
    coalesce(sum(f.paid_cents) filter (where f.status <> 'returned'), 0) / 100.0
                                                            as lifetime_value,
    coalesce(sum(f.paid_cents) filter (where f.status = 'returned'), 0) / 100.0
                                                            as refunded_value,
    case
        when coalesce(sum(f.paid_cents) filter (where f.status <> 'returned'), 0) >= 50000 then 'gold'
        when coalesce(sum(f.paid_cents) filter (where f.status <> 'returned'), 0) >= 20000 then 'silver'
        else 'bronze'
    end                                                     as value_tier
from {{ ref('dim_customers') }} as c
left join {{ ref('fct_orders') }} as f
    on f.customer_id = c.customer_id
group by c.customer_id, c.full_name, c.country, c.order_count
