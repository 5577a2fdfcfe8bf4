select
    id                   as product_id,
    name                 as product_name,
    category,
    price_cents,
    price_cents / 100.0  as price
from {{ ref('raw_products') }}
