import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { cliSelectionToYaml } from '../../src/dbt/selectors.js';
import { argvBytes, createShadowProject, RESUME_SELECTOR } from '../../src/dbt/shadow-project.js';

describe('argvBytes', () => {
  it('is zero for no arguments', () => {
    expect(argvBytes([])).toBe(0);
  });

  it('counts each argument plus its terminating NUL', () => {
    expect(argvBytes([''])).toBe(1);
    expect(argvBytes(['a'])).toBe(2);
    expect(argvBytes(['build', '--select', 'orders+'])).toBe(6 + 9 + 8);
  });

  it('counts multi-byte UTF-8 in bytes, not characters', () => {
    expect(argvBytes(['é'])).toBe(3); // 2 bytes
    expect(argvBytes(['€'])).toBe(4); // 3 bytes
    expect(argvBytes(['😀'])).toBe(5); // 4 bytes, 2 UTF-16 units
    expect(argvBytes(['schéma', 'x'])).toBe(Buffer.byteLength('schéma') + 1 + 2);
  });

  it('grows linearly with the number of selectors', () => {
    const one = 'resource_type:test,package:shop,fqn:shop.marts.not_null_orders_id,path:models/marts/_marts.yml';
    expect(argvBytes(Array.from({ length: 1000 }, () => one))).toBe(1000 * (one.length + 1));
  });
});

describe('cliSelectionToYaml', () => {
  it('is empty for no selection, or only blanks', () => {
    expect(cliSelectionToYaml([])).toEqual([]);
    expect(cliSelectionToYaml(['', '   ', '\t'])).toEqual([]);
  });

  it('keeps a single criterion as a string', () => {
    expect(cliSelectionToYaml(['tag:nightly', 'stg_orders+', '+orders', 'shop.marts.orders', 'unit_test:shop.t'])).toEqual([
      'tag:nightly',
      'stg_orders+',
      '+orders',
      'shop.marts.orders',
      'unit_test:shop.t',
    ]);
  });

  it('splits a string on whitespace into separate union items (CLI: spaces are unions)', () => {
    expect(cliSelectionToYaml(['orders+ customers+'])).toEqual(['orders+', 'customers+']);
    expect(cliSelectionToYaml(['  a \t b\n c  ', 'd'])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('turns an item with commas into an intersection (CLI: commas are intersections)', () => {
    expect(cliSelectionToYaml(['tag:daily,tag:finance'])).toEqual([{ intersection: ['tag:daily', 'tag:finance'] }]);
    expect(cliSelectionToYaml(['path:models/stg.sql,fqn:shop.stg'])).toEqual([{ intersection: ['path:models/stg.sql', 'fqn:shop.stg'] }]);
    expect(cliSelectionToYaml(['a,b c,d,e'])).toEqual([{ intersection: ['a', 'b'] }, { intersection: ['c', 'd', 'e'] }]);
  });

  it('drops empty parts of an intersection', () => {
    expect(cliSelectionToYaml(['a,,b'])).toEqual([{ intersection: ['a', 'b'] }]);
  });

  it('leaves no string with a space or a comma (dbt reads each YAML string as one criterion)', () => {
    const yaml = cliSelectionToYaml(['orders+ customers+', 'tag:a,tag:b', 'path:x.sql,fqn:s.x  tag:c']);
    for (const item of yaml) {
      for (const s of typeof item === 'string' ? [item] : item.intersection) expect(s).not.toMatch(/[\s,]/);
    }
  });

  it('does not change its input', () => {
    const input = ['a b', 'c,d'];
    cliSelectionToYaml(input);
    expect(input).toEqual(['a b', 'c,d']);
  });
});

interface FakeProject {
  root: string;
  projectDir: string;
  shadowDir: string;
}

const USER_SELECTORS = `# the user's own selectors
selectors:
  - name: nightly
    description: nightly models
    default: true
    definition:
      union:
        - method: tag
          value: nightly
        - exclude:
            - method: tag
              value: slow
  - name: marts_only
    definition: "path:models/marts"
`;

function makeProject(options: { selectors?: string } = {}): FakeProject {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'watcher-shadow-'));
  const projectDir = path.join(root, 'shop');
  fs.mkdirSync(path.join(projectDir, 'models', 'staging'), { recursive: true });
  fs.writeFileSync(path.join(projectDir, 'dbt_project.yml'), 'name: shop\nversion: "1.0"\nprofile: shop\n');
  fs.writeFileSync(path.join(projectDir, 'models', 'staging', 'stg_orders.sql'), 'select 1 as id\n');
  fs.writeFileSync(path.join(projectDir, 'packages.yml'), 'packages: []\n');
  fs.writeFileSync(path.join(projectDir, '.user.yml'), 'id: abc\n');
  fs.mkdirSync(path.join(projectDir, 'seeds'));
  fs.mkdirSync(path.join(projectDir, 'target'));
  fs.writeFileSync(path.join(projectDir, 'target', 'manifest.json'), '{}');
  fs.mkdirSync(path.join(projectDir, 'logs'));
  fs.writeFileSync(path.join(projectDir, 'logs', 'dbt.log'), '');
  if (options.selectors !== undefined) fs.writeFileSync(path.join(projectDir, 'selectors.yml'), options.selectors);
  return { root, projectDir, shadowDir: path.join(root, 'work', 'b1', 'project') };
}

interface SelectorsFile {
  selectors: Array<{ name: string; description?: string; default?: boolean; definition: unknown }>;
}

function readSelectors(shadowDir: string): SelectorsFile {
  return YAML.parse(fs.readFileSync(path.join(shadowDir, 'selectors.yml'), 'utf8')) as SelectorsFile;
}

function resumeUnion(shadowDir: string): unknown[] {
  const { selectors } = readSelectors(shadowDir);
  expect(selectors.map((s) => s.name)).toEqual([RESUME_SELECTOR]);
  return (selectors[0]!.definition as { union: unknown[] }).union;
}

/** Every string anywhere in a YAML selector definition. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

// What planResume produces: one exact selector per node (type, package, fqn and, with a file, its
// path in the root project or its file name in a package, intersected).
const STG_ORDERS = 'resource_type:model,package:shop,fqn:shop.staging.stg_orders,path:models/staging/stg_orders.sql';
const T_ORDERS_ID = 'resource_type:test,package:shop,fqn:shop.marts.not_null_orders_id,path:models/marts/_marts.yml';
const U_TOTALS = 'resource_type:unit_test,package:shop,fqn:shop.marts.orders.test_order_totals,path:models/marts/_marts.yml';
const PKG_MODEL = 'resource_type:model,package:pkg,fqn:pkg.sub.pkg_model,file:pkg_model.sql';
const SPACED = 'resource_type:model,package:shop,fqn:shop.my?marts.orders2,path:models/my?marts/orders2.sql';

describe('createShadowProject', () => {
  let project: FakeProject;
  beforeEach(() => {
    project = makeProject({ selectors: USER_SELECTORS });
  });
  afterEach(() => {
    fs.rmSync(project.root, { recursive: true, force: true });
  });

  it('returns the shadow dir, creating its parents', async () => {
    await expect(createShadowProject(project.projectDir, project.shadowDir, [STG_ORDERS])).resolves.toBe(project.shadowDir);
    expect(fs.statSync(project.shadowDir).isDirectory()).toBe(true);
  });

  it('links every top-level entry but selectors.yml, target and logs to the original', async () => {
    await createShadowProject(project.projectDir, project.shadowDir, [STG_ORDERS]);
    const expected = fs
      .readdirSync(project.projectDir)
      .filter((e) => !['selectors.yml', 'target', 'logs'].includes(e))
      .sort();
    expect(expected).toEqual(['.user.yml', 'dbt_project.yml', 'models', 'packages.yml', 'seeds']);
    expect(fs.readdirSync(project.shadowDir).sort()).toEqual([...expected, 'selectors.yml'].sort());
    for (const entry of expected) {
      const link = path.join(project.shadowDir, entry);
      expect(fs.lstatSync(link).isSymbolicLink(), entry).toBe(true);
      expect(fs.readlinkSync(link)).toBe(path.join(project.projectDir, entry));
    }
    // the links lead to the project's files
    expect(fs.readFileSync(path.join(project.shadowDir, 'models', 'staging', 'stg_orders.sql'), 'utf8')).toBe('select 1 as id\n');
    expect(fs.existsSync(path.join(project.shadowDir, 'target'))).toBe(false);
    expect(fs.existsSync(path.join(project.shadowDir, 'logs'))).toBe(false);
  });

  it('writes its own selectors.yml, a regular file, and leaves the user file alone', async () => {
    await createShadowProject(project.projectDir, project.shadowDir, [STG_ORDERS]);
    expect(fs.lstatSync(path.join(project.shadowDir, 'selectors.yml')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(project.projectDir, 'selectors.yml'), 'utf8')).toBe(USER_SELECTORS);
  });

  it("writes watcher_resume as its only selector: the user's selectors are not copied (the resume names its nodes)", async () => {
    await createShadowProject(project.projectDir, project.shadowDir, [STG_ORDERS]);
    const { selectors } = readSelectors(project.shadowDir);
    expect(selectors).toEqual([{ name: 'watcher_resume', description: expect.any(String), definition: { union: [{ intersection: ['resource_type:model', 'package:shop', 'fqn:shop.staging.stg_orders', 'path:models/staging/stg_orders.sql'] }] } }]);
    expect(RESUME_SELECTOR).toBe('watcher_resume');
    // the user's default selector is gone with the rest: `--selector watcher_resume` is explicit anyway
    expect(selectors.some((s) => s.default)).toBe(false);
  });

  it('unions the exact selectors in order, each as an intersection of its parts, a ? kept as it is', async () => {
    await createShadowProject(project.projectDir, project.shadowDir, [STG_ORDERS, T_ORDERS_ID, U_TOTALS, PKG_MODEL, SPACED]);
    expect(resumeUnion(project.shadowDir)).toEqual([
      { intersection: ['resource_type:model', 'package:shop', 'fqn:shop.staging.stg_orders', 'path:models/staging/stg_orders.sql'] },
      { intersection: ['resource_type:test', 'package:shop', 'fqn:shop.marts.not_null_orders_id', 'path:models/marts/_marts.yml'] },
      { intersection: ['resource_type:unit_test', 'package:shop', 'fqn:shop.marts.orders.test_order_totals', 'path:models/marts/_marts.yml'] },
      { intersection: ['resource_type:model', 'package:pkg', 'fqn:pkg.sub.pkg_model', 'file:pkg_model.sql'] },
      { intersection: ['resource_type:model', 'package:shop', 'fqn:shop.my?marts.orders2', 'path:models/my?marts/orders2.sql'] },
    ]);
  });

  it('gives back exactly the CLI selection when each intersection is joined with commas', async () => {
    const select = Array.from({ length: 5000 }, (_, i) =>
      i % 3 === 0 ? `resource_type:model,package:pkg,fqn:pkg.m${i},file:m${i}.sql` : `resource_type:model,package:shop,fqn:shop.m?${i},path:models/m?${i}.sql`,
    );
    await createShadowProject(project.projectDir, project.shadowDir, select);
    const union = resumeUnion(project.shadowDir);
    expect(union.map((item) => (typeof item === 'string' ? item : (item as { intersection: string[] }).intersection.join(',')))).toEqual(select);
  });

  it('replaces a previous shadow project cleanly when called twice', async () => {
    await createShadowProject(project.projectDir, project.shadowDir, ['fqn:shop.first']);
    fs.writeFileSync(path.join(project.shadowDir, 'stale.txt'), 'left over');
    fs.mkdirSync(path.join(project.shadowDir, 'target'));
    await createShadowProject(project.projectDir, project.shadowDir, ['fqn:shop.second']);

    expect(resumeUnion(project.shadowDir)).toEqual(['fqn:shop.second']);
    expect(fs.existsSync(path.join(project.shadowDir, 'stale.txt'))).toBe(false);
    expect(fs.existsSync(path.join(project.shadowDir, 'target'))).toBe(false);
    expect(fs.readlinkSync(path.join(project.shadowDir, 'models'))).toBe(path.join(project.projectDir, 'models'));
    // removing the old shadow never touched the project through its links
    expect(fs.readFileSync(path.join(project.projectDir, 'models', 'staging', 'stg_orders.sql'), 'utf8')).toBe('select 1 as id\n');
    expect(fs.readFileSync(path.join(project.projectDir, 'selectors.yml'), 'utf8')).toBe(USER_SELECTORS);
  });

  it('does not change its input', async () => {
    const select = [STG_ORDERS, PKG_MODEL];
    await createShadowProject(project.projectDir, project.shadowDir, select);
    expect(select).toEqual([STG_ORDERS, PKG_MODEL]);
  });
});

describe("createShadowProject whatever the user's selectors.yml", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
  });
  const fresh = (selectors?: string) => {
    const p = makeProject(selectors === undefined ? {} : { selectors });
    roots.push(p.root);
    return p;
  };

  it('writes a selectors.yml with watcher_resume only when the project has none', async () => {
    const p = fresh();
    await createShadowProject(p.projectDir, p.shadowDir, [STG_ORDERS]);
    expect(resumeUnion(p.shadowDir)).toEqual([{ intersection: ['resource_type:model', 'package:shop', 'fqn:shop.staging.stg_orders', 'path:models/staging/stg_orders.sql'] }]);
    expect(fs.existsSync(path.join(p.projectDir, 'selectors.yml'))).toBe(false);
  });

  it('never reads it: an empty one, or one that is not YAML, changes nothing', async () => {
    for (const text of ['', '# nothing yet\n', 'selectors:\n', 'selectors: [unclosed\n']) {
      const p = fresh(text);
      await createShadowProject(p.projectDir, p.shadowDir, [PKG_MODEL]);
      expect(resumeUnion(p.shadowDir), JSON.stringify(text)).toEqual([{ intersection: PKG_MODEL.split(',') }]);
      expect(fs.readFileSync(path.join(p.projectDir, 'selectors.yml'), 'utf8')).toBe(text);
    }
  });
});

// The YAML selector must mean what the CLI flags meant. Checked against dbt-core 1.11.16
// (.venv): a CLI --select argument is split on spaces (union) and commas (intersection), but a
// string in a YAML definition goes to SelectionCriteria.from_single_spec as ONE criterion.
describe('createShadowProject: dbt semantics of the selection', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
  });

  it('keeps a CLI union ("a b") and intersection ("a,b") meaning in the YAML selector', async () => {
    const p = makeProject();
    roots.push(p.root);
    await createShadowProject(p.projectDir, p.shadowDir, [STG_ORDERS, 'fqn:shop.a fqn:shop.b', 'path:models/c.sql,fqn:shop.c path:models/d.sql,fqn:shop.d']);
    const union = resumeUnion(p.shadowDir);
    // dbt would read 'path:models/a.sql,fqn:shop.a' in YAML as path 'models/a.sql,fqn:shop.a' (matches nothing)
    for (const s of stringsIn(union)) expect(s, `'${s}' is one dbt criterion only in YAML`).not.toMatch(/[\s,]/);
    expect(union).toEqual([
      { intersection: ['resource_type:model', 'package:shop', 'fqn:shop.staging.stg_orders', 'path:models/staging/stg_orders.sql'] },
      'fqn:shop.a',
      'fqn:shop.b',
      { intersection: ['path:models/c.sql', 'fqn:shop.c'] },
      { intersection: ['path:models/d.sql', 'fqn:shop.d'] },
    ]);
  });

  it('adds no exclusion, default or graph operator of its own', async () => {
    const p = makeProject();
    roots.push(p.root);
    await createShadowProject(p.projectDir, p.shadowDir, [STG_ORDERS, PKG_MODEL]);
    const [ours] = readSelectors(p.shadowDir).selectors;
    expect(ours!.default).toBeUndefined();
    expect(JSON.stringify(ours!.definition)).not.toMatch(/exclude|"method"|[+@*]/);
  });
});
