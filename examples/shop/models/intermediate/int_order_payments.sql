{{ config(materialized='ephemeral') }}

-- One row per order with its payments rolled up.
select
    order_id,
    count(*)                                              as payment_count,
    sum(amount_cents)                                     as paid_cents,
    sum(case when payment_method = 'gift_card' then amount_cents else 0 end)
                                                          as gift_card_cents
from {{ ref('stg_payments') }}
group by order_id
