// make bench: the UI's initial JavaScript (gzipped) and the time until a page is interactive in
// headless Chromium, for the project page with 100,000 artifacts and the version page with
// 100,000 files (median of 5 loads), each beside a floor measured in the same run: the app
// starting and drawing its own not-found page, which fetches nothing but the session. Then the
// lineage graph of 511 nodes, and a 1 GiB upload through the page (time and the renderer's peak
// memory) beside the CLI's put of the same file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { launch, signIn } from './browser.mjs';
import { KEY, startServer } from './server.mjs';
import { client, logVersion } from './seed.mjs';
import { MB, uploadPeak } from './uploadBench.mjs';

const N = Number(process.env.WEB_BENCH_N ?? 100000);
const dist = new URL('../dist/', import.meta.url);

function initialJs() {
  const html = readFileSync(new URL('index.html', dist), 'utf8');
  const srcs = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  return srcs.reduce((sum, src) => sum + gzipSync(readFileSync(new URL(src, dist))).length, 0);
}

async function pool(count, width, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Milliseconds from the navigation's start until `selector` is in the page, measured in the
 * page (performance.now() counts from the navigation; checked every animation frame), the
 * median of 5 loads.
 */
async function timeTo(page, url, selector, done = (sel) => (document.querySelector(sel) ? performance.now() : false), arg = selector) {
  const runs = [];
  for (let i = 0; i < 5; i++) {
    await page.goto(url, { waitUntil: 'commit' });
    const at = await page.waitForFunction(done, arg, { polling: 'raf', timeout: 30_000 });
    runs.push(await at.jsonValue());
  }
  return median(runs);
}

const js = initialJs();
console.log(`web: initial JavaScript ${(js / 1024).toFixed(1)} KB gzipped (target <= 300 KB)`);

const server = await startServer('sqlite');
const browser = await launch();
try {
  const api = client(server.base, KEY);
  const project = await api.call('POST', '/api/v1/projects', { name: 'bench' });
  let t0 = performance.now();
  await pool(N, 16, (i) =>
    api.call('POST', '/api/v1/artifacts', {
      project_id: project.id,
      name: `model-${String(i).padStart(6, '0')}`,
      type: i % 2 ? 'model' : 'dataset',
      metadata: { accuracy: (i % 1000) / 1000 },
    }),
  );
  console.log(`web: seeded ${N.toLocaleString()} artifacts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const data = await api.call('POST', '/api/v1/artifacts', { project_id: project.id, name: 'files', type: 'dataset' });
  t0 = performance.now();
  const paths = Array.from({ length: N }, (_, i) => `part-${String(i).padStart(6, '0')}.bin`);
  const version = await logVersion(api, data.id, {}, { shared: { content: 'x', paths } });
  console.log(`web: seeded a version of ${N.toLocaleString()} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  await signIn(page, server.base, KEY);
  // The floor: the app starting and drawing a page that needs no data (its own 404 page).
  const floor = await timeTo(page, `${server.base}/no-such-page`, '[data-testid=not-found]');
  const projectPage = await timeTo(
    page,
    `${server.base}/projects/${project.id}`,
    '[data-testid=artifact-table] tbody tr a',
  );
  const filesPage = await timeTo(page, `${server.base}/versions/${version.id}/files`, '[data-testid=file-list] [data-kind=file]');
  const rows = await page.locator('[data-testid=file-list] [data-row]').count();
  console.log(`web: floor (the app's own not-found page, no data)      ${floor.toFixed(0)} ms`);
  console.log(`web: project page, ${N.toLocaleString()} artifacts, interactive  ${projectPage.toFixed(0)} ms (target <= 2000 ms, ${(projectPage / floor).toFixed(1)}x the floor)`);
  console.log(`web: version files, ${N.toLocaleString()} files, interactive     ${filesPage.toFixed(0)} ms (target <= 2000 ms, ${(filesPage / floor).toFixed(1)}x the floor; ${rows} rows in the DOM)`);

  // Lineage: a version used by 2 runs, each producing 2 versions, four generations deep.
  const lin = await api.call('POST', '/api/v1/artifacts', { project_id: project.id, name: 'lineage', type: 'model' });
  t0 = performance.now();
  const root = await logVersion(api, lin.id, { 'g0.txt': 'root' });
  let generation = [root];
  let nodes = 1;
  let serial = 0;
  for (let g = 1; g <= 4; g++) {
    const next = [];
    await pool(generation.length * 2, 8, async (k) => {
      const input = generation[Math.floor(k / 2)];
      const run = await api.call('POST', '/api/v1/runs', { project_id: project.id, name: `gen${g}-run${k}` });
      await api.call('POST', `/api/v1/runs/${run.id}/inputs`, { version_id: input.id });
      for (let o = 0; o < 2; o++) next.push(await logVersion(api, lin.id, { 'x.txt': `gen${g}-${serial++}` }, { runId: run.id }));
    });
    nodes += generation.length * 2 + next.length;
    generation = next;
  }
  console.log(`web: seeded a lineage of ${nodes} nodes in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const drawn = await timeTo(
    page,
    `${server.base}/versions/${root.id}/lineage?depth=10`,
    `.react-flow__node:nth-child(${nodes})`,
    (count) =>
      [...document.querySelectorAll('.react-flow__node')].filter((n) => n.style.visibility !== 'hidden').length >= count
        ? performance.now()
        : false,
    nodes,
  );
  console.log(`web: lineage graph, ${nodes} nodes drawn                ${drawn.toFixed(0)} ms (target <= 2000 ms, ${(drawn / floor).toFixed(1)}x the floor)`);

  // A 1 GiB upload through the page, beside the CLI putting the same file (a fresh artifact each).
  const work = mkdtempSync(join(tmpdir(), 'wanllmdb-web-bench-'));
  try {
    const big = join(work, 'one-gib.bin');
    writeFileSync(big, Buffer.alloc(0));
    const chunk = Buffer.alloc(64 * MB);
    for (let i = 0; i < 16; i++) {
      chunk.fill(i + 1);
      writeFileSync(big, chunk, { flag: 'a' });
    }
    t0 = performance.now();
    execFileSync(process.env.WANLLMDB_CLI ?? new URL('../../target/debug/wanllmdb', import.meta.url).pathname, [
      'artifact', 'put', big, '--project', 'bench', '--name', 'cli-1gib', '--no-cache',
    ], { env: { ...process.env, WANLLMDB_URL: server.base, WANLLMDB_API_KEY: KEY, WANLLMDB_QUIET: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
    const cli = (performance.now() - t0) / 1000;
    // The CLI stored these bytes: the page must send them again, under another project.
    const other = await api.call('POST', '/api/v1/projects', { name: 'bench-upload' });
    const up = await uploadPeak(page, `${server.base}/projects/${other.id}/upload`, big);
    console.log(`web: CLI put of 1 GiB (the floor here)                 ${cli.toFixed(2)} s`);
    console.log(`web: page upload of 1 GiB (hash in workers, 8 MiB parts) ${up.seconds.toFixed(2)} s (${(up.seconds / cli).toFixed(2)}x the CLI)`);
    console.log(`web: page upload of 1 GiB, the page's own memory, peak  ${(up.peakOwn / MB).toFixed(0)} MB (target < 200 MB; ${(up.before.own / MB).toFixed(0)} MB before; JS heap peak ${(up.peakHeap / MB).toFixed(0)} MB)`);
    console.log(`web: page upload of 1 GiB, renderer resident, peak     ${(up.peakRss / MB).toFixed(0)} MB (${(up.before.rss / MB).toFixed(0)} MB before; includes the library code all Chromium processes share)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
} finally {
  await browser.close();
  await server.stop();
}
