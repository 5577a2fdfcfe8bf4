// A copy of examples/shop made slow for timeliness: its slow model (int_customer_orders, whose
// pre-hook sleeps `shop_sleep_seconds`) gets `meta.watcher.timeliness: 1 minute`, and a second
// model that sleeps as long has no threshold. Plain fs (no vitest): the bench uses it too.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SLOW_TIMED = 'model.shop.int_customer_orders';
export const SLOW_UNTIMED = 'model.shop.slow_untimed';

/** Edits the project copy in `dir` in place; returns `dir`. */
export function makeShopSlow(dir: string): string {
  const yml = path.join(dir, 'models', 'intermediate', '_intermediate.yml');
  const text = readFileSync(yml, 'utf8');
  const entry = '  - name: int_customer_orders\n';
  if (!text.includes(entry)) throw new Error(`${yml}: no int_customer_orders entry to give a threshold`);
  writeFileSync(yml, text.replace(entry, `${entry}    config:\n      meta:\n        watcher:\n          timeliness: 1 minute\n`));
  writeFileSync(
    path.join(dir, 'models', 'intermediate', 'slow_untimed.sql'),
    `{{ config(materialized='view', pre_hook="select pg_sleep({{ var('shop_sleep_seconds', 0) | float }})") }}\nselect 1 as id\n`,
  );
  return dir;
}
