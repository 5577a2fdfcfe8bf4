// docker-compose.yml (for users; no test runs Docker): nothing published beyond loopback, no
// password written into the file, and the init script takes its password from the environment.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/toolchain.js';

interface Service {
  ports?: string[];
  environment?: Record<string, string>;
}
const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };

describe('docker-compose.yml', () => {
  it('publishes every port on 127.0.0.1 only', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('takes every password from .env, required (no default password)', () => {
    const secrets = Object.values(compose.services).flatMap((s) => Object.entries(s.environment ?? {})).filter(([name]) => /PASSWORD|PWD|DATABASE_URL/.test(name));
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    for (const [name, value] of secrets) expect(value, name).toMatch(/\$\{[A-Z_]+:\?[^}]+\}/);
  });

  it("creates Watcher's role with the password from the environment", () => {
    const init = readFileSync(path.join(PROJECT_ROOT, 'deploy', 'postgres-init.sh'), 'utf8');
    expect(init).toMatch(/-v password="\$WATCHER_DB_PASSWORD"/);
    expect(init).toMatch(/PASSWORD :'password'/);
  });
});
