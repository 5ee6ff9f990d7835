// The web UI in a real browser (Debian's Chromium through playwright-core) against the real
// wanllmdb-server, seeded through its API. Usage: node e2e/run.mjs [sqlite|postgres ...]
// (default: sqlite). Screenshots go to web/test-results/<backend>/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { launch, signIn } from './browser.mjs';
import { KEY, startServer } from './server.mjs';
import { BIG_FILES, client, logVersion, seed, sha256 } from './seed.mjs';
import { uploadFlows } from './upload.mjs';
import { lineageFlows, seedChain } from './lineage.mjs';

const results = new URL('../test-results/', import.meta.url).pathname;

async function flows(backend) {
  const out = `${results}${backend}/`;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const server = await startServer(backend);
  const browser = await launch();
  const problems = [];
  let shot = 0;
  try {
    const api = client(server.base, KEY);
    const t0 = Date.now();
    const world = await seed(api);
    console.log(`[${backend}] seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s (a version of ${BIG_FILES.toLocaleString()} files)`);

    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.on('dialog', (d) => {
      problems.push(`a dialog opened: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const snap = async (name) => {
      shot += 1;
      await page.screenshot({ path: `${out}${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
    };
    const step = async (name, fn) => {
      const started = Date.now();
      try {
        await fn();
      } catch (e) {
        await snap(`FAILED-${name}`).catch(() => {});
        throw new Error(`[${backend}] ${name}: ${e.message}`);
      }
      console.log(`[${backend}] ok ${name} (${Date.now() - started} ms)`);
    };
    const noScriptRan = async (where) => {
      const pwned = await page.evaluate(() => window.__pwned);
      assert.equal(pwned, undefined, `a stored script ran (${where}): ${pwned}`);
      const scripts = await page.evaluate(() => [...document.scripts].map((s) => s.src || 'inline'));
      assert.ok(scripts.every((s) => s.includes('/assets/')), `a script element not from the app: ${scripts}`);
      assert.equal(await page.locator('iframe, object, embed').count(), 0, `a frame in the page (${where})`);
      assert.deepEqual(problems, [], `while ${where}`);
    };

    await step('serving: index, app routes, assets, headers', async () => {
      const index = await fetch(`${server.base}/`);
      assert.equal(index.status, 200);
      assert.equal(index.headers.get('cache-control'), 'no-cache');
      assert.match(index.headers.get('content-security-policy'), /default-src 'self'.*frame-ancestors 'none'/);
      assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
      const html = await index.text();
      assert.ok(html.includes('<base href="/">'), 'index.html carries the base path');
      // An app route is the app; a missing asset is a real 404, never the app.
      const route = await fetch(`${server.base}/versions/${world.v1.id}/files?path=evil/`);
      assert.equal(route.status, 200);
      assert.equal(await route.text(), html);
      const missing = await fetch(`${server.base}/assets/index-00000000.js`);
      assert.equal(missing.status, 404);
      assert.match(missing.headers.get('content-type'), /json/);
      const script = html.match(/src="\.\/(assets\/[^"]+\.js)"/)[1];
      const asset = await fetch(`${server.base}/${script}`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('cache-control'), /immutable/);
      assert.match(asset.headers.get('content-type'), /javascript/);
      // The API's own 404 for an unknown API path, not the app.
      const api404 = await fetch(`${server.base}/api/v1/nothing-here`);
      assert.equal(api404.status, 404);
      assert.match(api404.headers.get('content-type'), /problem\+json/);
    });

    await step('sign in', async () => {
      await page.goto(`${server.base}/projects/${world.vision.id}`);
      await page.waitForURL(/\/signin\?next=/);
      await snap('signin');
      await page.getByLabel('API key').fill('wlm_not_a_real_key_0123456789abcdefghijklmnopqr');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      await page.getByLabel('API key').fill(KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // Back where the user was going.
      await page.waitForURL(`**/projects/${world.vision.id}`);
      await page.getByTestId('user-name').waitFor();
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.httpOnly);
      assert.ok(session, 'no HttpOnly session cookie');
      assert.equal(session.sameSite, 'Strict');
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      assert.ok(!stored.includes('wlm_'), 'a key was kept in web storage');
    });

    await step('projects with artifact counts', async () => {
      await page.getByRole('link', { name: 'Projects' }).first().click();
      await page.getByTestId('artifact-count-vision').waitFor();
      assert.equal(await page.getByTestId('artifact-count-vision').innerText(), '3');
      assert.equal(await page.getByTestId('artifact-count-empty-project').innerText(), '0');
      await snap('projects');
    });

    await step('search, type filter, metadata filter with its 422', async () => {
      await page.getByRole('link', { name: 'vision' }).click();
      const table = page.getByTestId('artifact-table');
      await table.getByRole('link', { name: 'resnet' }).waitFor();
      assert.equal(await table.locator('tbody tr').count(), 3);
      // Descriptions are searched too: only the dataset's says this.
      await page.getByLabel('Search artifacts').fill('thousand shards');
      await page.waitForURL(/q=thousand/);
      await table.getByRole('link', { name: 'imagenet-mini' }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=artifact-table] tbody tr').length === 1);
      await page.getByLabel('Search artifacts').fill('');
      await page.waitForURL((u) => !u.search.includes('q='));
      // A controlled checkbox follows the URL: click, then wait for the URL.
      await page.getByLabel('dataset').click();
      await page.waitForURL(/type=dataset/);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=artifact-table] tbody tr').length === 1);
      await page.getByLabel('dataset').click();
      await page.waitForURL((u) => !u.search.includes('type='));
      await page.getByLabel('Metadata filter').fill('metadata.accuracy >>> 1');
      await page.getByLabel('Metadata filter').press('Enter');
      const error = page.locator('#filter-error');
      await error.waitFor();
      assert.ok((await error.innerText()).length > 5, 'the 422 names the problem');
      assert.equal(await page.getByLabel('Metadata filter').getAttribute('aria-invalid'), 'true');
      await snap('filter-error');
      await page.getByLabel('Metadata filter').fill('metadata.accuracy >= 0.9');
      await page.getByLabel('Metadata filter').press('Enter');
      await error.waitFor({ state: 'detached' });
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=artifact-table] tbody tr').length === 1);
      await table.getByRole('link', { name: 'resnet' }).waitFor();
      // The state is in the URL: a reload shows the same list.
      await page.reload();
      await table.getByRole('link', { name: 'resnet' }).waitFor();
      assert.equal(await page.getByLabel('Metadata filter').inputValue(), 'metadata.accuracy >= 0.9');
      await snap('project');
    });

    await step('artifact: description, versions, alias timeline', async () => {
      await page.getByTestId('artifact-table').getByRole('link', { name: 'resnet' }).click();
      await page.getByRole('heading', { name: 'ResNet-50' }).waitFor();
      const versions = page.getByTestId('versions-table');
      await versions.getByRole('link', { name: 'v1' }).waitFor();
      await versions.getByRole('link', { name: 'v0' }).waitFor();
      const timelineSays = (text) =>
        page.waitForFunction((t) => document.querySelector('[data-testid=alias-timeline]')?.innerText.includes(t), text);
      // Versions in the history are named once they are looked up.
      await timelineSays('best moved from v0 to v1');
      await timelineSays('latest moved from v0 to v1');
      await noScriptRan('the artifact page');
      await snap('artifact');
      // Sorting by a column header is the server's sort, kept in the URL.
      const firstVersion = () => versions.locator('[data-row]').first().getByRole('link').innerText();
      assert.equal(await firstVersion(), 'v1');
      await versions.getByRole('button', { name: 'Size' }).click();
      await page.waitForURL(/sort=-total_size/);
      await versions.getByRole('button', { name: 'Size' }).click();
      await page.waitForURL(/sort=total_size/);
      await page.waitForFunction(() => document.querySelector('[data-testid=versions-table] [data-row] a')?.textContent === 'v0');
      assert.equal(await versions.getByRole('columnheader', { name: /Size/ }).getAttribute('aria-sort'), 'ascending');
      await versions.getByRole('button', { name: 'Version' }).click();
      await page.waitForURL((u) => !u.search.includes('sort='));
      await page.waitForFunction(() => document.querySelector('[data-testid=versions-table] [data-row] a')?.textContent === 'v1');

      // Aliases: set, move (confirmed, saying where it pointed), remove; latest is not offered.
      const editor = page.getByTestId('alias-editor');
      assert.equal(await editor.getByRole('button', { name: /latest/ }).count(), 0);
      await editor.getByLabel('Alias name').fill('staging');
      await editor.getByLabel('Version').fill('v0');
      await editor.getByRole('button', { name: 'Set alias' }).click();
      assert.equal(await page.getByTestId('alias-confirm').innerText(), 'Set staging on v0?');
      await page.getByRole('button', { name: 'Set', exact: true }).click();
      await timelineSays('staging set on v0');
      await editor.getByRole('button', { name: 'Move staging', exact: true }).click();
      await editor.getByLabel('Version').fill('v1');
      await editor.getByRole('button', { name: 'Set alias' }).click();
      assert.equal(await page.getByTestId('alias-confirm').innerText(), 'staging points at v0. Move it to v1?');
      await snap('alias-move-confirm');
      await page.getByRole('button', { name: 'Move', exact: true }).click();
      await timelineSays('staging moved from v0 to v1');
      await editor.getByRole('button', { name: 'Remove staging', exact: true }).click();
      assert.equal(await page.getByTestId('alias-confirm').innerText(), 'Remove staging from v1?');
      await page.getByRole('button', { name: 'Remove', exact: true }).click();
      await timelineSays('staging removed from v1');
      // A version that does not exist: the server's message, inline.
      await editor.getByLabel('Alias name').fill('broken');
      await editor.getByLabel('Version').fill('v99');
      await editor.getByRole('button', { name: 'Set alias' }).click();
      await page.getByRole('button', { name: 'Set', exact: true }).click();
      await editor.getByRole('alert').waitFor();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await snap('aliases-edited');

      // Description and metadata, edited in place; metadata must be a JSON object.
      await page.getByRole('button', { name: "Edit artifact's description and metadata" }).click();
      const form = page.getByRole('form', { name: 'Edit the artifact' });
      await form.getByLabel('Description (markdown)').fill('## ResNet-50, retrained\n\nNow with **mixup**.');
      await form.getByLabel('Metadata (a JSON object)').fill('[1, 2]');
      await form.getByRole('alert').waitFor();
      assert.equal(await form.getByRole('button', { name: 'Save' }).isDisabled(), true);
      await form.getByLabel('Metadata (a JSON object)').fill('{"accuracy": 0.96, "tags": ["prod"]}');
      await form.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('heading', { name: 'ResNet-50, retrained' }).waitFor();
      await page.getByText('0.96').first().waitFor();
      const stored = await api.call('GET', `/api/v1/artifacts/${world.model.id}`);
      assert.deepEqual(stored.metadata, { accuracy: 0.96, tags: ['prod'] });
    });

    await step('version overview: digest, producer, consumers', async () => {
      await page.getByTestId('versions-table').getByRole('link', { name: 'v1' }).click();
      const overview = page.getByTestId('overview');
      await overview.waitFor();
      await page.getByTestId('producer').getByText('train-1').waitFor();
      await page.getByTestId('consumers').getByText('eval-1').waitFor();
      assert.ok((await overview.innerText()).includes(world.v1.digest), 'the digest is shown');
      await snap('version-overview');
      await page.getByRole('link', { name: 'Compare with the version before' }).click();
      await page.waitForFunction(() => document.querySelector('[data-testid=diff-summary]')?.textContent?.startsWith('9 added'));
      await page.goBack();
      await overview.waitFor();
      await page.getByRole('link', { name: 'Metadata' }).click();
      await page.getByText('"epochs": ').waitFor();
      await snap('version-metadata');
      await page.getByRole('link', { name: 'Usage' }).click();
      const usage = await page.getByTestId('usage').innerText();
      assert.ok(usage.includes('wanllmdb artifact get vision/resnet:v1'), usage);
      assert.ok(usage.includes('Api().artifact("vision/resnet:v1")'), usage);
      await snap('version-usage');
    });

    await step('compare v0 and v1: files by digest, metadata by key', async () => {
      await page.goto(`${server.base}/artifacts/${world.model.id}`);
      await page.getByRole('link', { name: 'Compare versions' }).click();
      const summary = page.getByTestId('diff-summary');
      await summary.waitFor();
      assert.equal(await summary.innerText(), '9 added0 removed2 modified1 renamed0 unchanged');
      // The model's tensors, compared by name: a dtype change, one added, one removed.
      const tensors = page.getByTestId('tensor-diff-model.safetensors');
      await tensors.getByText('conv1.weight').waitFor();
      const text = await tensors.innerText();
      assert.match(text, /conv1\.weight\s+changed\s+F16 \[64, 3, 7, 7\]\s+F32 \[64, 3, 7, 7\]/);
      assert.match(text, /fc\.bias\s+added\s+F32 \[1000\]/);
      assert.match(text, /old\.head\s+removed\s+F32 \[10\]/);
      await page.getByTestId('diff-modified').getByText('config.json').waitFor();
      // A modified text file, side by side: the old line beside the new one.
      const lines = page.getByTestId('text-diff-config.json').locator('tr.changed');
      await lines.first().waitFor();
      assert.equal(await lines.count(), 1);
      assert.equal(await lines.locator('td.old').innerText(), '{"layers":50}');
      assert.equal(await lines.locator('td.new').innerText(), '{"layers":50,"classes":1000}');
      assert.match(await page.getByTestId('diff-renamed').innerText(), /notes\/readme\.txt\s+→\s+docs\/readme\.txt/);
      const meta = await page.getByTestId('diff-metadata').innerText();
      assert.match(meta, /accuracy\s+added\s+0\.95/);
      assert.match(meta, /epochs\s+added\s+90/);
      await snap('compare');
      // The pair is in the URL; swapping it swaps the roles.
      await page.getByRole('button', { name: /Swap/ }).click();
      await page.waitForURL(new RegExp(`from=${world.v1.id}&to=${world.v0.id}`));
      await page.waitForFunction(() =>
        document.querySelector('[data-testid=diff-summary]')?.textContent?.startsWith('0 added9 removed'),
      );
    });

    const files = `${server.base}/versions/${world.v1.id}/files`;
    const preview = page.getByTestId('preview');
    const open = async (path) => {
      await page.goto(`${files}?file=${encodeURIComponent(path)}`);
      await preview.waitFor();
    };

    await step('compare 1,200 changes a page of 500 at a time', async () => {
      const tables = await api.call('POST', '/api/v1/projects', { name: 'tables' });
      const wide = await api.call('POST', '/api/v1/artifacts', { project_id: tables.id, name: 'wide', type: 'dataset' });
      const paths = Array.from({ length: 1200 }, (_, i) => `rows/${String(i).padStart(5, '0')}.txt`);
      const w0 = await logVersion(api, wide.id, {}, { shared: { content: 'x', paths } });
      const kept = Object.fromEntries(paths.slice(600, 610).map((p) => [p, 'x']));
      const w1 = await logVersion(api, wide.id, kept, { shared: { content: 'y', paths: paths.slice(0, 600) } });
      await page.goto(`${server.base}/artifacts/${wide.id}/compare?from=${w0.id}&to=${w1.id}`);
      const summary = page.getByTestId('diff-summary');
      await summary.getByText('500 modified').waitFor();
      await summary.getByText('so far').waitFor();
      await page.getByTestId('diff-more').getByRole('button').click();
      await summary.getByText('400 removed').waitFor();
      await page.getByTestId('diff-more').getByRole('button').click();
      await summary.getByText('590 removed').waitFor();
      assert.match(await summary.innerText(), /600 modified.*10 unchanged/);
      assert.equal(await page.getByTestId('diff-more').count(), 0, 'all pages are in');
      assert.equal(await page.getByTestId('diff-modified').locator('tbody tr').count(), 600);
      // Changes only by default; unticked, the unchanged files are listed too.
      assert.equal(await page.getByTestId('diff-unchanged').count(), 0);
      await page.getByTestId('changes-only').uncheck();
      await page.getByRole('heading', { name: 'Unchanged (10)' }).waitFor();
      const unchanged = page.getByTestId('diff-unchanged').locator('[data-row]');
      await unchanged.nth(9).waitFor();
      assert.equal(await unchanged.count(), 10);
      assert.match(await unchanged.first().innerText(), /rows\/00600\.txt/);
      await snap('compare-paged');
    });

    await step('preview: image, code, csv, json, text past the cap', async () => {
      await open('plots/loss.png');
      const img = preview.getByTestId('preview-image');
      await img.waitFor();
      await page.waitForFunction(() => document.querySelector('[data-testid=preview-image]')?.naturalWidth === 2);
      await snap('preview-image');
      await open('src/train.py');
      await preview.locator('[data-testid=preview-code][data-lang=python]').waitFor();
      assert.ok((await preview.locator('[data-testid=preview-code] span[style]').count()) > 3, 'no highlighting');
      await snap('preview-code');
      await open('data/val.csv');
      await preview.getByTestId('preview-table').waitFor();
      assert.equal(await preview.locator('[data-testid=preview-table] tbody tr').count(), 1000);
      assert.equal(await preview.locator('th').nth(3).innerText(), 'note, quoted');
      await snap('preview-csv');
      await open('config.json');
      await preview.getByText('"classes": 1000').waitFor();
      await open('logs/train.log');
      const banner = preview.getByTestId('too-large');
      await banner.waitFor();
      const before = (await preview.getByTestId('preview-text').innerText()).length;
      await banner.getByRole('button', { name: /Load the first/ }).click();
      await banner.waitFor({ state: 'detached' });
      const after = (await preview.getByTestId('preview-text').innerText()).length;
      assert.ok(after > before, `loading more showed no more (${before} -> ${after})`);
      await snap('preview-large-text');
    });

    await step('hostile HTML, SVG, markdown and JSON stay inert', async () => {
      await open('evil/page.html');
      await preview.locator('[data-testid=preview-code][data-lang=html]').waitFor();
      assert.ok((await preview.innerText()).includes('<script>'), 'the HTML is shown as source');
      await noScriptRan('previewing HTML');
      await open('evil/drawing.svg');
      await preview.getByTestId('preview-image').waitFor();
      assert.equal(await preview.locator('svg').count(), 0, 'the SVG was inlined');
      await page.waitForTimeout(300);
      await noScriptRan('previewing SVG');
      await snap('preview-svg');
      await open('evil/notes.md');
      await preview.getByRole('heading', { name: 'Release notes' }).waitFor();
      assert.equal(await preview.locator('img').count(), 0);
      await preview.getByRole('link', { name: 'a link' }).click({ noWaitAfter: true }).catch(() => {});
      await page.waitForTimeout(300);
      await noScriptRan('previewing markdown');
      await open('evil/config.json');
      await preview.getByText('"nested": {').waitFor();
      await noScriptRan('previewing JSON');
      await snap('preview-hostile-json');
      // The bytes themselves never come back as a document on the app's origin.
      const html = await api.call('GET', `/api/v1/artifacts/versions/${world.v1.id}/files`, undefined, {
        query: { prefix: 'evil/page.html', limit: 1 },
      });
      const res = await fetch(`${server.base}/api/v1/artifacts/files/${html.items[0].id}/content`, {
        // A range, like a preview: not counted as a download.
        headers: { Authorization: `Bearer ${KEY}`, Range: 'bytes=0-15' },
      });
      assert.equal(res.status, 206);
      assert.ok(!res.headers.get('content-type').includes('html'), res.headers.get('content-type'));
      assert.match(res.headers.get('content-disposition'), /^attachment/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    });

    await step('inspect safetensors and GGUF', async () => {
      await open('model.safetensors');
      await preview.getByTestId('parameter-count').waitFor();
      assert.match(await preview.getByTestId('parameter-count').innerText(), /10,408/);
      await preview.getByTestId('tensor-table').getByText('conv1.weight').waitFor();
      await preview.getByTestId('tensor-table').getByText('[64, 3, 7, 7]').waitFor();
      await snap('inspect-safetensors');
      await open('llama.gguf');
      await preview.getByTestId('parameter-count').waitFor();
      assert.match(await preview.getByTestId('parameter-count').innerText(), /\b192\b/);
      await preview.getByTestId('model-metadata').getByText('tiny-llama').waitFor();
      await preview.getByTestId('tensor-table').getByText('token_embd.weight').waitFor();
      await snap('inspect-gguf');
    });

    await step('download a file and a folder zip, checksums compared', async () => {
      await open('data/val.csv');
      const [file] = await Promise.all([page.waitForEvent('download'), preview.getByRole('link', { name: 'Download' }).first().click()]);
      const bytes = readFileSync(await file.path());
      assert.equal(sha256(bytes), sha256(Buffer.from(world.files['data/val.csv'])));
      assert.equal(file.suggestedFilename(), 'val.csv');
      await page.goto(`${files}?path=evil/`);
      await page.getByTestId('breadcrumbs').getByText('evil').waitFor();
      const [zip] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-zip').click()]);
      const listing = JSON.parse(
        execFileSync('python3', [
          '-c',
          'import hashlib,json,sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}))',
          await zip.path(),
        ]).toString(),
      );
      const expected = Object.fromEntries(
        Object.entries(world.files)
          .filter(([p]) => p.startsWith('evil/'))
          .map(([p, c]) => [p, sha256(Buffer.from(c))]),
      );
      const got = Object.fromEntries(Object.entries(listing).map(([n, h]) => [n.replace(/^.*?(evil\/)/, 'evil/'), h]));
      assert.deepEqual(got, expected);
      await page.goto(`${server.base}/versions/${world.v1.id}/downloads`);
      const count = page.getByTestId('download-count');
      await count.waitFor();
      assert.equal(await count.innerText(), '2', 'a file and a zip: two downloads (previews are not counted)');
      await page.getByTestId('downloads').getByText('admin').first().waitFor();
      await page.getByTestId('downloads').getByText('data/val.csv').waitFor();
      await snap('version-downloads');
    });

    await step(`folders of a ${BIG_FILES.toLocaleString()}-file version`, async () => {
      await page.goto(`${server.base}/versions/${world.big.id}/files`);
      const list = page.getByTestId('file-list');
      const folder = list.locator('[data-kind=folder]', { hasText: 'shards/' });
      await folder.waitFor();
      assert.ok((await list.innerText()).includes(BIG_FILES.toLocaleString()), 'the folder shows its file count');
      await folder.click();
      await list.getByText('part-000000.bin').waitFor();
      const rows = () => page.locator('[data-testid=file-list] [data-row]').count();
      assert.ok((await rows()) < 200, `${await rows()} rows in the DOM`);
      // Scroll to the end of what is loaded: the next page arrives, the DOM stays small.
      for (let i = 0; i < 3; i++) {
        await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
        await page.waitForTimeout(250);
      }
      await page.waitForFunction(() => /[0-9,]+ loaded/.test(document.body.innerText) && !document.body.innerText.includes('500 loaded'));
      assert.ok((await rows()) < 200, `${await rows()} rows in the DOM after scrolling`);
      await snap('big-version-folder');
      await page.getByLabel('Find files by path').fill('part-09999');
      await list.getByText('part-099990.bin').waitFor();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=file-list] [data-row]').length === 10);
      await snap('big-version-search');
    });

    await step('delete a version, then the artifact, each confirmed by its name', async () => {
      await page.goto(`${server.base}/versions/${world.s0.id}`);
      await page.getByRole('button', { name: 'Delete this version…' }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Delete this version' });
      assert.match(await confirm.innerText(), /scratch:v0 with its 1 file/);
      const go = confirm.getByRole('button', { name: 'Delete this version', exact: true });
      await confirm.getByLabel('Name to confirm').fill('scratch:v1');
      assert.equal(await go.isDisabled(), true, 'a wrong name confirms');
      await confirm.getByLabel('Name to confirm').fill('scratch:v0');
      await snap('delete-version-confirm');
      await go.click();
      await page.waitForURL(`**/artifacts/${world.scratch.id}`);
      const versions = page.getByTestId('versions-table');
      await versions.getByRole('link', { name: 'v1' }).waitFor();
      assert.equal(await versions.getByRole('link', { name: 'v0' }).count(), 0);
      await page.getByRole('button', { name: 'Delete this artifact…' }).click();
      const again = page.getByRole('alertdialog', { name: 'Delete this artifact' });
      await again.getByLabel('Name to confirm').fill('scratch');
      await again.getByRole('button', { name: 'Delete this artifact', exact: true }).click();
      await page.waitForURL(`**/projects/${world.sandbox.id}`);
      await page.getByText('No artifact matches.').waitFor();
      const gone = await fetch(`${server.base}/api/v1/artifacts/${world.scratch.id}`, { headers: { Authorization: `Bearer ${KEY}` } });
      assert.equal(gone.status, 404);
    });

    {
      // A context of its own: file inputs hung after the download flows in the shared one.
      const upContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const upPage = await upContext.newPage();
      upPage.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await signIn(upPage, server.base, KEY);
      const upSnap = (name) => upPage.screenshot({ path: `${out}${String(++shot).padStart(2, '0')}-${name}.png`, fullPage: true });
      await uploadFlows({ page: upPage, context: upContext, server, world, step, snap: upSnap });
      await upContext.close();
    }
    await lineageFlows({ page, server, chain: await seedChain(api, world.vision), step, snap });

    await step('members: an admin adds a user by name, changes the role, removes them', async () => {
      const user = await api.call('POST', '/api/v1/users', { name: 'member-mm' });
      await page.goto(`${server.base}/projects/${world.vision.id}`);
      await page.getByTestId('members-link').click();
      const form = page.getByTestId('add-member');
      await form.getByLabel('User name').fill('nobody-here');
      await form.getByRole('button', { name: 'Add member' }).click();
      await form.getByRole('alert').getByText('No user is called “nobody-here”.').waitFor();
      await form.getByLabel('User name').fill('member-mm');
      await form.getByLabel("New member's role").selectOption('editor');
      await form.getByRole('button', { name: 'Add member' }).click();
      const row = page.getByTestId('member').filter({ hasText: 'member-mm' });
      await row.waitFor();
      assert.equal(await row.getByLabel('Role').inputValue(), 'editor');
      const roleOf = async () =>
        (await api.call('GET', `/api/v1/projects/${world.vision.id}/members`)).find((m) => m.user_id === user.id)?.role;
      assert.equal(await roleOf(), 'editor');
      await row.getByLabel('Role').selectOption('viewer');
      await page.waitForFunction(
        async ([pid, uid]) => {
          const r = await fetch(`/api/v1/projects/${pid}/members`).then((x) => x.json());
          return r.find((m) => m.user_id === uid)?.role === 'viewer';
        },
        [world.vision.id, user.id],
      );
      await snap('members');
      await row.getByRole('button', { name: 'Remove…' }).click();
      await row.getByRole('button', { name: 'Remove', exact: true }).click();
      await row.waitFor({ state: 'detached' });
      assert.equal(await roleOf(), undefined);
    });

    await step('API keys: make one (shown once), use it, revoke it', async () => {
      await page.getByTestId('user-name').click();
      await page.getByRole('heading', { name: 'API keys of admin' }).waitFor();
      await page.getByLabel('Key label').fill('e2e-laptop');
      await page.getByRole('button', { name: 'Create a key' }).click();
      const secret = await page.getByTestId('new-key-secret').innerText();
      assert.match(secret, /^wlm_/);
      const me = (k) => fetch(`${server.base}/api/v1/me`, { headers: { Authorization: `Bearer ${k}` } });
      assert.equal((await me(secret)).status, 200, 'the new key works');
      await snap('keys-new');
      await page.reload();
      await page.locator('[data-testid=keys] tr', { hasText: 'e2e-laptop' }).waitFor();
      assert.ok(!(await page.content()).includes(secret), 'the secret is shown again');
      const row = page.locator('[data-testid=keys] tr', { hasText: 'e2e-laptop' });
      await row.getByRole('button', { name: 'Revoke…' }).click();
      await row.getByRole('button', { name: 'Revoke', exact: true }).click();
      await row.getByText(/^revoked/).waitFor();
      assert.equal((await me(secret)).status, 401, 'the revoked key still works');
      await snap('keys-revoked');
    });

    await step('sign out: the cookie stops working', async () => {
      const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const before = await fetch(`${server.base}/api/v1/session`, { headers: { Cookie: cookie } });
      assert.equal(before.status, 200);
      await page.goto(`${server.base}/`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(/\/signin/);
      const after = await fetch(`${server.base}/api/v1/session`, { headers: { Cookie: cookie } });
      assert.equal(after.status, 401, 'the old cookie still works');
      await snap('signed-out');
    });
    await step('a viewer sees no alias editor and cannot upload, and the server refuses both', async () => {
      const user = await api.call('POST', '/api/v1/users', { name: 'viewer-vv' });
      const key = await api.call('POST', `/api/v1/users/${user.id}/keys`, { label: 'e2e' });
      await api.call('PUT', `/api/v1/projects/${world.vision.id}/members/${user.id}`, { role: 'viewer' });
      const viewerContext = await browser.newContext();
      const viewer = await viewerContext.newPage();
      await viewer.goto(`${server.base}/artifacts/${world.model.id}`);
      await viewer.getByLabel('API key').fill(key.secret);
      await viewer.getByRole('button', { name: 'Sign in' }).click();
      await viewer.getByTestId('alias-timeline').waitFor();
      assert.equal(await viewer.getByTestId('user-name').innerText(), 'viewer-vv');
      assert.equal(await viewer.getByTestId('alias-editor').count(), 0, 'a viewer is offered the alias editor');
      assert.equal(await viewer.getByRole('button', { name: /Edit artifact/ }).count(), 0, 'a viewer is offered editing');
      assert.equal(await viewer.getByRole('button', { name: /Delete/ }).count(), 0, 'a viewer is offered deleting');
      await viewer.screenshot({ path: `${out}viewer-artifact.png`, fullPage: true });
      const cookie = (await viewerContext.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const session = await fetch(`${server.base}/api/v1/session`, { headers: { Cookie: cookie } }).then((r) => r.json());
      const refused = await fetch(`${server.base}/api/v1/artifacts/${world.model.id}/aliases/mine`, {
        method: 'PUT',
        headers: { Cookie: cookie, 'X-CSRF-Token': session.csrf_token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ version: 'v0' }),
      });
      assert.equal(refused.status, 403);
      // No upload for a viewer: no link, the page says so, and the server refuses a draft.
      assert.equal(await viewer.getByTestId('new-version').count(), 0, 'a viewer is offered uploading');
      await viewer.goto(`${server.base}/artifacts/${world.model.id}/upload`);
      await viewer.getByTestId('upload-forbidden').getByText(/Viewers cannot upload/).waitFor();
      assert.equal(await viewer.getByTestId('upload-drop').count(), 0);
      const draft = await fetch(`${server.base}/api/v1/artifacts/${world.model.id}/versions`, {
        method: 'POST',
        headers: { Cookie: cookie, 'X-CSRF-Token': session.csrf_token, 'Content-Type': 'application/json' },
        body: '{}',
      });
      assert.equal(draft.status, 403);
      await viewerContext.close();
    });

    await step('a session ended elsewhere sends the page to sign-in, then back', async () => {
      await page.getByLabel('API key').fill(KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('user-name').waitFor();
      await page.getByRole('link', { name: 'Projects' }).first().click();
      await page.getByTestId('artifact-count-vision').waitFor();
      // End the session from outside the page (as another tab's sign-out would).
      const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      const session = await fetch(`${server.base}/api/v1/session`, { headers: { Cookie: cookie } }).then((r) => r.json());
      const ended = await fetch(`${server.base}/api/v1/session`, {
        method: 'DELETE',
        headers: { Cookie: cookie, 'X-CSRF-Token': session.csrf_token },
      });
      assert.equal(ended.status, 204);
      await page.getByRole('link', { name: 'vision' }).click();
      await page.waitForURL(/\/signin\?next=/);
      await page.getByLabel('API key').fill(KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`**/projects/${world.vision.id}`);
      await page.getByTestId('artifact-table').waitFor();
    });
    await noScriptRan('the whole run');
  } finally {
    await browser.close();
    await server.stop();
  }
}

/** The UI under a sub-path, as behind a proxy that passes the prefix on. */
async function underSubPath() {
  const server = await startServer('sqlite', { WANLLMDB__SERVER__BASE_PATH: '/registry/' });
  const browser = await launch();
  try {
    const html = await fetch(`${server.base}/registry/`).then((r) => r.text());
    assert.ok(html.includes('<base href="/registry/">'), 'index.html carries the sub-path');
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.base}/registry/`);
    await page.waitForURL(/\/registry\/signin/);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('user-name').waitFor();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    assert.match(new URL(page.url()).pathname, /^\/registry(\/|$)/, page.url());
    // A reload of an app route under the sub-path is the app again.
    await page.goto(`${server.base}/registry/no-such-page`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    assert.deepEqual(errors, []);
    await page.screenshot({ path: `${results}sqlite/base-path.png` });
    console.log('[sqlite] ok the UI under /registry/');
  } finally {
    await browser.close();
    await server.stop();
  }
}

const backends = process.argv.slice(2).length ? process.argv.slice(2) : ['sqlite'];
for (const backend of backends) {
  assert.ok(['sqlite', 'postgres'].includes(backend), `unknown backend ${backend}`);
  await flows(backend);
  if (backend === 'sqlite') await underSubPath();
}
console.log(`web e2e: all flows passed on ${backends.join(', ')}; screenshots in ${results}`);
