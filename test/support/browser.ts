// Debian's Chromium for browser tests, driven by playwright-core (Playwright's own browser
// download cannot work here). Missing Chromium fails in CI and is a loud skip elsewhere.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether Chromium is here; throws in CI (where .ci/run installs it), warns loudly otherwise. */
export function haveChromium(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `Chromium not found at ${CHROMIUM}: ${what} cannot run (install Debian's chromium package; .ci/run does)`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n!!! SKIPPING ${what.toUpperCase()}: ${message} !!!\n`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
