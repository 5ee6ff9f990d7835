// Uploading from the page: a folder of 200 files and a 100 MB file in parts, downloaded back
// with the CLI; the same again (nothing sent); a cancelled upload resumed without resending
// its stored parts. The server runs with a 16 MiB multipart threshold (server.mjs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { KEY } from './server.mjs';
import { sha256 } from './seed.mjs';

const CLI = new URL('../../target/debug/wanllmdb', import.meta.url).pathname;
const MB = 1_000_000;

/** Every file under `dir` as {relative path: sha256}. */
function digests(dir) {
  const out = {};
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = sha256(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function cliGet(base, reference, into, cacheDir) {
  execFileSync(CLI, ['artifact', 'get', reference, '-o', into], {
    env: { ...process.env, WANLLMDB_URL: base, WANLLMDB_API_KEY: KEY, WANLLMDB_CACHE_DIR: cacheDir, WANLLMDB_QUIET: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

export async function uploadFlows({ page, context, server, world, step, snap }) {
  const work = mkdtempSync(join(tmpdir(), 'wanllmdb-web-upload-'));
  const folder = join(work, 'shards');
  for (let i = 0; i < 200; i++) {
    const sub = join(folder, `part-${i % 7}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `sample-${i}.bin`), randomBytes(200 + ((i * 997) % 20_000)));
  }
  const big = join(work, 'weights.bin');
  writeFileSync(big, randomBytes(100 * MB));
  const puts = [];
  page.on('request', (r) => {
    if (r.method() === 'PUT' && !r.url().includes('/aliases/')) puts.push(r.url());
  });
  const outcome = page.getByTestId('upload-outcome');
  let artifactUrl = '';

  try {
    await step('upload a folder of 200 files and a 100 MB file in parts, download with the CLI', async () => {
      await page.goto(`${server.base}/projects/${world.vision.id}`);
      await page.getByTestId('new-artifact').click();
      await page.getByTestId('upload-name').fill('browser-upload');
      await page.getByTestId('upload-type').selectOption('dataset');
      await page.getByTestId('upload-description').fill('Shards uploaded **from the browser**');
      await page.getByTestId('upload-metadata').fill('{"source": "e2e"}');
      await page.getByTestId('upload-aliases').fill('best, candidate');
      await page.getByTestId('upload-folder-input').setInputFiles(folder);
      await page.getByTestId('upload-chosen').getByText('200 files').waitFor();
      await page.getByTestId('upload-files-input').setInputFiles(big);
      await page.getByTestId('upload-chosen').getByText('201 files').waitFor();
      puts.length = 0;
      await page.getByTestId('upload-start').click();
      await outcome.waitFor({ timeout: 120_000 });
      await snap('upload-done');
      assert.match(await outcome.innerText(), /v0 is finalized: 201 files sent/);
      assert.match(await outcome.innerText(), /best/);
      // 200 whole-file PUTs and the big file's 13 parts of 8 MiB, nothing more.
      assert.equal(puts.length, 200 + Math.ceil((100 * MB) / (8 << 20)), `PUTs: ${puts.length}`);
      // Straight to the store's presigned URLs (Garage: its CORS rule, set by the server), none
      // through the server's fallback.
      assert.deepEqual(puts.filter((u) => u.includes('/files/content')), []);
      await outcome.getByRole('link', { name: 'v0' }).click();
      await page.waitForURL(/\/versions\//);
      artifactUrl = await page.getByRole('navigation').getByRole('link', { name: 'browser-upload' }).getAttribute('href');
      const into = join(work, 'got');
      cliGet(server.base, 'vision/browser-upload:best', into, join(work, 'cache'));
      // A folder and a file chosen together keep the folder's name in their paths.
      const expected = Object.fromEntries(Object.entries(digests(folder)).map(([p, h]) => [`shards/${p}`, h]));
      expected['weights.bin'] = sha256(readFileSync(big));
      assert.deepEqual(digests(into), expected, 'the CLI downloads what the page uploaded');
    });

    await step('upload the same files again: no new version, no bytes sent', async () => {
      await page.goto(`${server.base}${artifactUrl}`);
      await page.getByTestId('new-version').click();
      await page.getByTestId('upload-folder-input').setInputFiles(folder);
      await page.getByTestId('upload-files-input').setInputFiles(big);
      await page.getByTestId('upload-chosen').getByText('201 files').waitFor();
      puts.length = 0;
      await page.getByTestId('upload-start').click();
      await outcome.waitFor({ timeout: 60_000 });
      assert.match(await outcome.innerText(), /No new version: the latest, v0, already holds exactly these files/);
      assert.equal(puts.length, 0, `bytes were sent: ${puts.slice(0, 3)}`);
      assert.equal(await page.getByTestId('upload-sent').getAttribute('data-bytes'), '0');
      await snap('upload-unchanged');
    });

    await step('cancel an upload midway, resume it: stored parts are not sent again', async () => {
      writeFileSync(big, randomBytes(100 * MB));
      await page.goto(`${server.base}${artifactUrl}`);
      await page.getByTestId('new-version').click();
      await page.getByTestId('upload-folder-input').setInputFiles(folder);
      await page.getByTestId('upload-files-input').setInputFiles(big);
      await page.getByTestId('upload-chosen').getByText('201 files').waitFor();
      // A slow uplink (25 MB/s), so the cancel comes while parts are under way.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 25 * MB });
      puts.length = 0;
      await page.getByTestId('upload-start').click();
      await page.getByTestId('upload-status').getByText(/Uploading/).waitFor({ timeout: 60_000 });
      const sent = () => page.getByTestId('upload-sent').getAttribute('data-bytes').then(Number);
      await page.waitForFunction((floor) => Number(document.querySelector('[data-testid=upload-sent]')?.getAttribute('data-bytes')) >= floor, 20 * MB, { timeout: 60_000 });
      await page.getByTestId('upload-cancel').click();
      await page.getByTestId('upload-status').getByText(/Cancelled/).waitFor();
      await snap('upload-cancelled');
      const sentBefore = await sent();
      assert.ok(sentBefore >= 20 * MB && sentBefore < 100 * MB, `sent before the cancel: ${sentBefore} bytes`);
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await page.getByTestId('upload-resume').click();
      await outcome.waitFor({ timeout: 120_000 });
      const text = await outcome.innerText();
      assert.match(text, /v1 is finalized: 1 file sent/);
      const resent = Number(await outcome.getAttribute('data-sent-bytes'));
      assert.ok(resent > 0 && resent <= 100 * MB - 16 * MB, `the resume sent ${resent} bytes: stored parts went again`);
      await snap('upload-resumed');
      const into = join(work, 'got-v1');
      cliGet(server.base, 'vision/browser-upload:v1', into, join(work, 'cache'));
      assert.equal(sha256(readFileSync(join(into, 'weights.bin'))), sha256(readFileSync(big)));
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
