// Debian's Chromium for browser tests, driven by playwright-core (Playwright's own browser
// download cannot work here). Missing Chromium fails in CI and is a loud skip elsewhere.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/toolchain.js';

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

const SHOTS = path.join(PROJECT_ROOT, 'test-output', 'dashboard');
const README_SHOTS = path.join(PROJECT_ROOT, 'docs', 'screenshots');

/** A screenshot of the page under test-output/dashboard/<name>.png; UPDATE_SCREENSHOTS=1 also refreshes the README's (docs/screenshots/). */
export async function dashboardScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  if (process.env.UPDATE_SCREENSHOTS) {
    mkdirSync(README_SHOTS, { recursive: true });
    copyFileSync(file, path.join(README_SHOTS, `${name}.png`));
  }
}
