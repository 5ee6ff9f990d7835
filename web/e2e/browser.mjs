// Debian's Chromium through playwright-core (Playwright's own browser download is not used),
// headless, with its background networking off (this machine refuses those connections).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launch() {
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  } catch (e) {
    throw new Error(`cannot start Chromium at ${CHROMIUM} (apt-get install chromium; make test does): ${e.message}`);
  }
}

/** Signs a browser context in through the page, as a user would. */
export async function signIn(page, base, key) {
  await page.goto(`${base}/signin`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('user-name').waitFor();
}
