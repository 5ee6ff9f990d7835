// The lineage graph: a chain of three runs (prep -> train -> eval) around a model, and seven
// probe runs that used the model (folded into a cluster, searchable, one shown on its own).
import assert from 'node:assert/strict';
import { logVersion } from './seed.mjs';

export async function seedChain(api, project) {
  const artifact = (name, type) => api.call('POST', '/api/v1/artifacts', { project_id: project.id, name, type });
  const run = (name) => api.call('POST', '/api/v1/runs', { project_id: project.id, name, metadata: { lr: 0.01 } });
  const use = (r, v) => api.call('POST', `/api/v1/runs/${r.id}/inputs`, { version_id: v.id });
  const [raw, clean, model, report] = await Promise.all([
    artifact('chain-raw', 'dataset'),
    artifact('chain-clean', 'dataset'),
    artifact('chain-model', 'model'),
    artifact('chain-report', 'file'),
  ]);
  const raw0 = await logVersion(api, raw.id, { 'raw.csv': 'a,b\n1,2\n' });
  const prep = await run('prep');
  await use(prep, raw0);
  const clean0 = await logVersion(api, clean.id, { 'clean.csv': 'a,b\n1,2\n3,4\n' }, { runId: prep.id });
  const train = await run('train');
  await use(train, clean0);
  const model0 = await logVersion(api, model.id, { 'model.bin': 'weights' }, { runId: train.id });
  const evaluation = await run('eval');
  await use(evaluation, model0);
  await logVersion(api, report.id, { 'report.md': '# ok' }, { runId: evaluation.id });
  for (let i = 0; i < 7; i++) await use(await run(`probe-${i}`), model0);
  return { model0, raw0 };
}

export async function lineageFlows({ page, server, chain, step, snap }) {
  const nodes = page.getByTestId('lineage-graph').getByTestId('lineage-node');
  const node = (label) => nodes.filter({ hasText: new RegExp(`^${label}`) });
  await step('lineage: a three-run chain, deeper on demand, a cluster searched, a node opened', async () => {
    await page.goto(`${server.base}/versions/${chain.model0.id}/lineage?depth=1`);
    await node('chain-model:v0').waitFor();
    await node('train').waitFor();
    await node('eval').waitFor();
    await node('chain-report:v0').waitFor();
    assert.equal(await node('chain-raw:v0').count(), 0, 'depth 1 reaches raw data two hops up');
    assert.equal(await node('probe-').count(), 0, 'the seven probes are folded');
    await node('7 runs').waitFor();
    await snap('lineage-depth-1');
    await page.getByTestId('lineage-depth').selectOption('2');
    await node('chain-raw:v0').waitFor();
    await node('prep').waitFor();
    assert.match(page.url(), /depth=2/);
    await snap('lineage-depth-2');
    await node('7 runs').click();
    const panel = page.getByTestId('lineage-panel');
    await panel.getByTestId('cluster-search').fill('probe-3');
    const members = panel.getByTestId('cluster-members').locator('li');
    await members.first().waitFor();
    assert.equal(await members.count(), 1);
    await members.first().getByRole('button', { name: 'Show' }).click();
    await node('probe-3').waitFor();
    await node('6 runs').waitFor();
    await node('train').click();
    await panel.getByText('Started').waitFor();
    assert.equal(await panel.getByTestId('run-used').innerText(), 'chain-clean:v0');
    assert.equal(await panel.getByTestId('run-produced').innerText(), 'chain-model:v0');
    await snap('lineage-run-panel');
    await node('chain-raw:v0').click();
    await panel.getByTestId('lineage-open').click();
    await page.waitForURL(`**/versions/${chain.raw0.id}`);
  });
}
