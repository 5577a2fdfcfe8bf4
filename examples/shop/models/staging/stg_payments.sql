select
    id                              as payment_id,
    order_id,
    payment_method,
    amount_cents,
    amount_cents / 100.0            as amount
{%- if shop_flag('shop_break_model') %}
    -- shop_break_model=true: fail on purpose with a database error
    , 'shop_break_model'::integer   as broken_on_purpose
{%- endif %}
from {{ ref('raw_payments') }}
