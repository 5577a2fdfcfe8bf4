{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy='delete+insert'
) }}

select
    o.order_id,
    o.customer_id,
    o.product_id,
    pr.category                              as product_category,
    o.order_date,
    o.status,
    o.quantity,
    o.quantity * pr.price_cents              as order_total_cents,
    coalesce(p.paid_cents, 0)                as paid_cents,
    coalesce(p.gift_card_cents, 0)           as gift_card_cents,
    coalesce(p.payment_count, 0)             as payment_count
from {{ ref('stg_orders') }} as o
join {{ ref('stg_products') }} as pr
    on pr.product_id = o.product_id
left join {{ ref('int_order_payments') }} as p
    on p.order_id = o.order_id
{% if is_incremental() %}
-- Re-process a short trailing window so late status changes are picked up.
where o.order_date >= (select coalesce(max(order_date), date '1900-01-01') from {{ this }}) - 3
{% endif %}
