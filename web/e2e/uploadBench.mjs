// One file uploaded through the page as a user would (new artifact, pick, Upload), timed from
// the click to the outcome, with the page's renderer's peak resident memory (the largest
// renderer process, its workers included, from /proc; Chromium also keeps a spare renderer) and
// the page's JS heap sampled meanwhile.
import { readFileSync, readdirSync } from 'node:fs';

export const MB = 1_000_000;

/**
 * The page's renderer (the largest renderer process; Chromium also keeps a spare one): its
 * resident memory, and the part that is its own (anonymous + shared-memory pages, i.e. without
 * the library code every Chromium process maps).
 */
function renderer() {
  let best = { rss: 0, own: 0 };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('chrom') || !cmd.includes('--type=renderer')) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
      const now = { rss: kb('VmRSS'), own: kb('RssAnon') + kb('RssShmem') };
      if (now.rss > best.rss) best = now;
    } catch {
      // The process ended meanwhile.
    }
  }
  return best;
}

export async function uploadPeak(page, uploadUrl, file) {
  await page.goto(uploadUrl);
  await page.getByTestId('upload-name').fill('page-1gib');
  await page.getByTestId('upload-files-input').setInputFiles(file);
  await page.getByTestId('upload-chosen').waitFor();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const before = renderer();
  let peakRss = before.rss;
  let peakOwn = before.own;
  let peakHeap = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = renderer();
      peakRss = Math.max(peakRss, now.rss);
      peakOwn = Math.max(peakOwn, now.own);
      const { metrics } = await cdp.send('Performance.getMetrics');
      peakHeap = Math.max(peakHeap, metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const t0 = performance.now();
  await page.getByTestId('upload-start').click();
  await page.getByTestId('upload-outcome').waitFor({ timeout: 600_000 });
  const seconds = (performance.now() - t0) / 1000;
  sampling = false;
  await sampler;
  const text = await page.getByTestId('upload-outcome').innerText();
  if (!/1 file sent/.test(text)) throw new Error(`the page did not send the file: ${text}`);
  return { seconds, peakRss, peakOwn, peakHeap, before };
}
