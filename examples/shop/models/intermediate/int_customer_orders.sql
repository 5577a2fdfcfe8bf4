{{ config(
    materialized='table',
    pre_hook="select pg_sleep({{ var('shop_sleep_seconds', 0) | float }})"
) }}

-- One row per customer that has ordered at least once.
select
    o.customer_id,
    min(o.order_date)                                              as first_order_date,
    max(o.order_date)                                              as last_order_date,
    count(*)                                                       as order_count,
    count(*) filter (where o.status = 'returned')                  as returned_order_count,
    coalesce(sum(p.paid_cents), 0)                                 as paid_cents,
    coalesce(sum(p.paid_cents) filter (where o.status <> 'returned'), 0)
                                                                   as net_paid_cents
from {{ ref('stg_orders') }} as o
left join {{ ref('int_order_payments') }} as p
    on p.order_id = o.order_id
group by o.customer_id
