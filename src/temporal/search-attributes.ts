// Registers Watcher's Keyword search attributes on a namespace (idempotent), so workers can
// run against any Temporal server, not only the dev server started with --search-attribute.
import type { NativeConnection } from '@temporalio/worker';
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../contracts/names.js';

export async function ensureSearchAttributes(connection: Pick<NativeConnection | Connection, 'operatorService'>, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTE_DEFINITIONS.filter(
    ({ name }) => !(name in (existing.customAttributes ?? {})) && !(name in (existing.systemAttributes ?? {})),
  );
  if (missing.length === 0) return;
  const searchAttributes: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {};
  for (const { name } of missing) searchAttributes[name] = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (err) {
    // Another worker registered them first.
    if (!/already exists/i.test(String(err))) throw err;
  }
}
