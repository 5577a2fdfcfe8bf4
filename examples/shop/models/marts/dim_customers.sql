select
    c.customer_id,
    c.full_name,
    c.email,
    c.country,
    c.signup_date,
    co.first_order_date,
    co.last_order_date,
    coalesce(co.order_count, 0)           as order_count,
    coalesce(co.returned_order_count, 0)  as returned_order_count,
    co.customer_id is not null            as has_ordered
from {{ ref('stg_customers') }} as c
left join {{ ref('int_customer_orders') }} as co
    on co.customer_id = c.customer_id
