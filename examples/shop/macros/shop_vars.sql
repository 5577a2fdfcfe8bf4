{#- Read a var as a boolean so that true, "true", 1 and "yes" all count as on. -#}
{% macro shop_flag(name, default=false) %}
  {{ return((var(name, default) | string | lower) in ['true', '1', 'yes', 'on']) }}
{% endmacro %}

{#- Severity for the singular test, driven by shop_test_outcome. -#}
{% macro shop_test_severity() %}
  {{ return('warn' if (var('shop_test_outcome', 'pass') | string | lower) == 'warn' else 'error') }}
{% endmacro %}
