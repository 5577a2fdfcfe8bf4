// Who may call what: token scopes and which addresses count as loopback.
import { describe, expect, it } from 'vitest';
import { isLoopback } from '../../src/server/serve.js';
import { hashToken, scopeAllows } from '../../src/store/tokens.js';

describe('scopes', () => {
  it('order admin > write > read', () => {
    expect(scopeAllows('read', 'read')).toBe(true);
    expect(scopeAllows('read', 'write')).toBe(false);
    expect(scopeAllows('write', 'read')).toBe(true);
    expect(scopeAllows('write', 'admin')).toBe(false);
    expect(scopeAllows('admin', 'write')).toBe(true);
  });

  it('hash tokens to 64 hex characters, never the token itself', () => {
    const h = hashToken('wt_secret');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).not.toContain('secret');
  });
});

describe('loopback', () => {
  it('knows loopback addresses from public ones', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com']) expect(isLoopback(host), host).toBe(false);
  });
});
