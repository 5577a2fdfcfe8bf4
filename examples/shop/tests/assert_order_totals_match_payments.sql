{#-
  Every order's list-price total must equal the sum of its payments.
  shop_test_outcome (pass | warn | fail) forces this test to return rows;
  'warn' gives severity warn, anything else severity error.
-#}
{{ config(severity=shop_test_severity()) }}

with payments as (
    select order_id, sum(amount_cents) as paid_cents
    from {{ ref('stg_payments') }}
    group by order_id
)

select
    o.order_id,
    o.order_total_cents,
    coalesce(p.paid_cents, 0) as paid_cents
from {{ ref('fct_orders') }} as o
left join payments as p
    on p.order_id = o.order_id
where o.order_total_cents <> coalesce(p.paid_cents, 0)
{%- if (var('shop_test_outcome', 'pass') | string | lower) != 'pass' %}
   -- forced by shop_test_outcome: report the first order as a mismatch
   or o.order_id = (select min(order_id) from {{ ref('fct_orders') }})
{%- endif %}
