// A synthetic dbt project on Postgres for benchmarks and scale tests: N models in layers with
// fan-in and fan-out, a few seeds, and a configurable number of tests per model. Every table
// model does a little real SQL work (a few thousand rows), so timings are not only dbt start-up.
// Deterministic for a given seed.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mulberry32 } from './prng.js';

export interface ProjectSpec {
  /** Models, not counting seeds. */
  models: number;
  /** Average data tests per model (each model gets floor or ceil of it). */
  testsPerModel: number;
  seeds: number;
  /** Rows each first-layer model generates. */
  rows: number;
  /** Models per layer (fan-out and fan-in happen between consecutive layers). */
  layerWidth?: number;
  seed?: number;
}


export interface GeneratedProject {
  dir: string;
  models: number;
  seeds: number;
  tests: number;
  /** dbt nodes a `dbt build` runs: models + seeds + tests. */
  nodes: number;
}

export function generateProject(dir: string, spec: ProjectSpec): GeneratedProject {
  const random = mulberry32(spec.seed ?? 42);
  const width = spec.layerWidth ?? Math.max(5, Math.round(Math.sqrt(spec.models) * 2));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'models'), { recursive: true });
  mkdirSync(path.join(dir, 'seeds'), { recursive: true });

  writeFileSync(
    path.join(dir, 'dbt_project.yml'),
    [
      'name: bench',
      'version: "1.0.0"',
      'config-version: 2',
      'profile: bench',
      'flags:',
      '  send_anonymous_usage_stats: false',
      'models:',
      '  bench:',
      '    +materialized: table',
      'seeds:',
      '  bench:',
      '    +quote_columns: false',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'profiles.yml'),
    [
      'bench:',
      '  target: dev',
      '  outputs:',
      '    dev:',
      '      type: postgres',
      "      host: \"{{ env_var('SHOP_PG_HOST', '127.0.0.1') }}\"",
      "      port: \"{{ env_var('SHOP_PG_PORT', '5432') | as_number }}\"",
      "      user: \"{{ env_var('SHOP_PG_USER', 'postgres') }}\"",
      "      password: \"{{ env_var('SHOP_PG_PASSWORD', '') }}\"",
      "      dbname: \"{{ env_var('SHOP_PG_DATABASE', 'shop') }}\"",
      "      schema: \"{{ var('schema', 'bench') }}\"",
      '      threads: 4',
      '',
    ].join('\n'),
  );

  for (let s = 0; s < spec.seeds; s++) {
    const lines = ['id,category,amount'];
    for (let i = 1; i <= 200; i++) lines.push(`${i},c${(i * (s + 3)) % 7},${((i * 37 + s) % 1000) / 10}`);
    writeFileSync(path.join(dir, 'seeds', `seed_${s}.csv`), `${lines.join('\n')}\n`);
  }

  // Layers: every model of layer k > 0 reads 1-3 models of layer k-1 (fan-in), and every model
  // of layer k-1 feeds at least one model of layer k (fan-out).
  const names: string[][] = [];
  for (let i = 0; i < spec.models; i++) {
    const layer = Math.floor(i / width);
    (names[layer] ??= []).push(`m_${layer}_${i % width}`);
  }
  // Up to five tests per model, in this order.
  const TESTS: Array<[column: string, test: string]> = [
    ['id', 'unique'],
    ['id', 'not_null'],
    ['category', "accepted_values:\n              arguments:\n                values: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']"],
    ['v', 'not_null'],
    ['h', 'not_null'],
  ];
  const testsPerModel = () => Math.min(TESTS.length, Math.floor(spec.testsPerModel) + (random() < spec.testsPerModel % 1 ? 1 : 0));
  let tests = 0;
  const schema: string[] = ['version: 2', 'models:'];
  names.forEach((layerNames, layer) => {
    const previous = names[layer - 1] ?? [];
    const fed = new Set<string>();
    layerNames.forEach((name, j) => {
      let parents: string[] = [];
      if (layer > 0) {
        const count = 1 + Math.floor(random() * Math.min(3, previous.length));
        parents = [...new Set(Array.from({ length: count }, () => previous[Math.floor(random() * previous.length)]!))];
        // make sure the previous layer fans out to every model
        const unfed = previous.find((p, k) => k % layerNames.length === j && !fed.has(p));
        if (unfed && !parents.includes(unfed)) parents.push(unfed);
        parents.forEach((p) => fed.add(p));
      }
      const sql =
        layer === 0
          ? [
              `-- layer 0: generated rows joined to a seed`,
              `select g.id, s.category, (g.id * ${j + 7}) % 1000 + coalesce(s.amount, 0) as v, md5(g.id::text) as h`,
              `from generate_series(1, ${spec.rows}) as g(id)`,
              `left join {{ ref('seed_${j % spec.seeds}') }} as s on s.id = (g.id % 200) + 1`,
            ].join('\n')
          : [
              `-- layer ${layer}: reads ${parents.join(', ')}`,
              `select p0.id, p0.category, ${parents.map((_, k) => `p${k}.v`).join(' + ')} as v, md5(p0.h || '${name}') as h`,
              `from {{ ref('${parents[0]}') }} as p0`,
              ...parents.slice(1).map((p, k) => `join {{ ref('${p}') }} as p${k + 1} using (id)`),
            ].join('\n');
      writeFileSync(path.join(dir, 'models', `${name}.sql`), `${sql}\n`);
      const picked = TESTS.slice(0, testsPerModel());
      tests += picked.length;
      schema.push(`  - name: ${name}`);
      if (picked.length) schema.push('    columns:');
      for (const column of [...new Set(picked.map(([c]) => c))]) {
        schema.push(`      - name: ${column}`, '        data_tests:', ...picked.filter(([c]) => c === column).map(([, t]) => `          - ${t}`));
      }
    });
  });
  writeFileSync(path.join(dir, 'models', '_models.yml'), `${schema.join('\n')}\n`);
  return { dir, models: spec.models, seeds: spec.seeds, tests, nodes: spec.models + spec.seeds + tests };
}
