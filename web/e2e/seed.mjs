// Seeds a registry through its REST API with a bearer key, the way the SDK does.
import { createHash } from 'node:crypto';
import * as fx from './fixtures.mjs';

export function client(base, key) {
  async function call(method, path, body, { raw = false, query } = {}) {
    const url = new URL(`${base}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));
    const headers = { Authorization: `Bearer ${key}` };
    if (body !== undefined && !raw) headers['Content-Type'] = 'application/json';
    if (raw) headers['Content-Type'] = 'application/octet-stream';
    const res = await fetch(url, { method, headers, body: raw ? body : body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return { call };
}

const digest = (algo, bytes) => createHash(algo).update(bytes).digest('hex');
export const sha256 = (bytes) => digest('sha256', bytes);

/** Logs `files` ({path: bytes}) as a new finalized version; `shared` adds many paths of one content. */
export async function logVersion(api, artifactId, files, { runId, metadata, description, shared } = {}) {
  const v = await api.call('POST', `/api/v1/artifacts/${artifactId}/versions`, {
    description: description ?? '',
    metadata: metadata ?? {},
    run_id: runId ?? null,
  });
  const specs = [];
  for (const [path, content] of Object.entries(files)) {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const spec = { path, size: bytes.length, md5_hash: digest('md5', bytes), sha256_hash: sha256(bytes) };
    await api.call('PUT', `/api/v1/artifacts/versions/${v.id}/files/content`, bytes, { raw: true, query: spec });
    specs.push(spec);
  }
  if (shared) {
    const bytes = Buffer.from(shared.content);
    const one = { size: bytes.length, md5_hash: digest('md5', bytes), sha256_hash: sha256(bytes) };
    await api.call('PUT', `/api/v1/artifacts/versions/${v.id}/files/content`, bytes, {
      raw: true,
      query: { ...one, path: shared.paths[0] },
    });
    for (const p of shared.paths) specs.push({ ...one, path: p });
  }
  for (let i = 0; i < specs.length; i += 10000) {
    await api.call('POST', `/api/v1/artifacts/versions/${v.id}/files/batch`, { files: specs.slice(i, i + 10000) });
  }
  return api.call('POST', `/api/v1/artifacts/versions/${v.id}/finalize`, {});
}

export const BIG_FILES = 100000;

/** The registry the flows walk through; returns the ids and bytes they check against. */
export async function seed(api) {
  const vision = await api.call('POST', '/api/v1/projects', { name: 'vision', description: 'Image models' });
  await api.call('POST', '/api/v1/projects', { name: 'empty-project' });
  const model = await api.call('POST', '/api/v1/artifacts', {
    project_id: vision.id,
    name: 'resnet',
    type: 'model',
    description:
      '## ResNet-50\n\nTrained on **imagenet-mini**.\n\n<script>window.__pwned = "description"</script>\n\n' +
      '<img src=x onerror="window.__pwned = \'description-img\'">',
    metadata: { accuracy: 0.93, tags: ['prod', 'cnn'], optimizer: { name: 'adamw', lr: 0.0003 } },
  });
  const dataset = await api.call('POST', '/api/v1/artifacts', {
    project_id: vision.id,
    name: 'imagenet-mini',
    type: 'dataset',
    description: 'A hundred thousand shards.',
    metadata: { accuracy: 0.1 },
  });
  await api.call('POST', '/api/v1/artifacts', { project_id: vision.id, name: 'train-code', type: 'code' });

  const train = await api.call('POST', '/api/v1/runs', { project_id: vision.id, name: 'train-1' });
  const evaluate = await api.call('POST', '/api/v1/runs', { project_id: vision.id, name: 'eval-1' });

  const v0 = await logVersion(api, model.id, {
    'model.safetensors': fx.olderSafetensors(),
    'config.json': '{"layers":50}',
    'notes/readme.txt': 'hello team',
  });
  const files = {
    'model.safetensors': fx.safetensors(),
    'llama.gguf': fx.gguf(),
    'config.json': JSON.stringify({ layers: 50, classes: 1000 }),
    'plots/loss.png': fx.png(),
    'data/val.csv': fx.csv(2000),
    'src/train.py': fx.TRAIN_PY,
    'logs/train.log': fx.bigText(),
    // The same bytes as v0's notes/readme.txt: a rename.
    'docs/readme.txt': 'hello team',
    ...fx.HOSTILE,
  };
  const v1 = await logVersion(api, model.id, files, {
    runId: train.id,
    metadata: { accuracy: 0.95, epochs: 90 },
    description: 'Fine-tuned **longer**.',
  });
  await api.call('PUT', `/api/v1/artifacts/${model.id}/aliases/best`, { version_id: v0.id });
  await api.call('PUT', `/api/v1/artifacts/${model.id}/aliases/best`, { version_id: v1.id });
  await api.call('GET', '/api/v1/resolve', undefined, { query: { ref: 'vision/resnet:v1', run_id: evaluate.id } });

  const paths = Array.from({ length: BIG_FILES }, (_, i) => `shards/part-${String(i).padStart(6, '0')}.bin`);
  const big = await logVersion(api, dataset.id, { 'README.md': '# imagenet-mini\n' }, { shared: { content: 'shard', paths } });
  // Something to delete.
  const sandbox = await api.call('POST', '/api/v1/projects', { name: 'sandbox' });
  const scratch = await api.call('POST', '/api/v1/artifacts', { project_id: sandbox.id, name: 'scratch', type: 'file' });
  const s0 = await logVersion(api, scratch.id, { 'a.txt': 'first' });
  await logVersion(api, scratch.id, { 'a.txt': 'second' });
  return { vision, model, dataset, v0, v1, big, files, sandbox, scratch, s0 };
}
