select
    id           as order_id,
    customer_id,
    product_id,
    order_date,
    quantity,
    status
from {{ ref('raw_orders') }}
