// Starts the real wanllmdb-server (built with `--features ui`) on a free port, on the embedded
// default (SQLite + filesystem in a temporary folder) or on PostgreSQL + S3 from the
// TEST_DATABASE_URL / TEST_S3_* variables that scripts/services.sh writes.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export const KEY = 'wlm_e2e_browser_key_0123456789abcdefghijklmnopqrstu';

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: the PostgreSQL + S3 run needs scripts/services.sh (make test starts it)`);
  }
  return value;
}

export async function startServer(backend, extraEnv = {}) {
  const bin = resolve(process.env.WANLLMDB_SERVER ?? new URL('../../target/debug/wanllmdb-server', import.meta.url).pathname);
  const dir = mkdtempSync(join(tmpdir(), 'wanllmdb-web-e2e-'));
  const env = {
    ...process.env,
    WANLLMDB__SERVER__BIND: '127.0.0.1:0',
    WANLLMDB__SERVER__WORKERS: '2',
    WANLLMDB__AUTH__BOOTSTRAP_KEY: KEY,
    // Files over 16 MiB go in parts of 8 MiB (upload.mjs sends one of 100 MB).
    WANLLMDB__UPLOADS__MULTIPART_THRESHOLD: String(16 << 20),
    WANLLMDB__UPLOADS__PART_SIZE: String(8 << 20),
    RUST_LOG: 'warn',
    ...extraEnv,
  };
  let database = null;
  if (backend === 'sqlite') {
    env.WANLLMDB__DATABASE__URL = `sqlite://${dir}/wanllmdb.db`;
    env.WANLLMDB__STORAGE__BACKEND = 'fs';
    env.WANLLMDB__STORAGE__FS__ROOT = `${dir}/blobs`;
  } else {
    // A database of its own on the test server, dropped at the end.
    const admin = need('TEST_DATABASE_URL');
    database = `web_e2e_${process.pid}_${Date.now()}`;
    execFileSync('psql', [admin, '-q', '-c', `CREATE DATABASE ${database}`]);
    const url = new URL(admin);
    url.pathname = `/${database}`;
    env.WANLLMDB__DATABASE__URL = url.href;
    env.WANLLMDB__STORAGE__BACKEND = 's3';
    env.WANLLMDB__STORAGE__S3__ENDPOINT = need('TEST_S3_ENDPOINT');
    env.WANLLMDB__STORAGE__S3__REGION = need('TEST_S3_REGION');
    env.WANLLMDB__STORAGE__S3__BUCKET = need('TEST_S3_BUCKET');
    env.WANLLMDB__STORAGE__S3__ACCESS_KEY = need('TEST_S3_ACCESS_KEY');
    env.WANLLMDB__STORAGE__S3__SECRET_KEY = need('TEST_S3_SECRET_KEY');
    // The page uploads to the store's presigned URLs: the bucket's CORS rule must name the
    // page's origin, so the port is chosen before the server starts.
    const port = await freePort();
    env.WANLLMDB__SERVER__BIND = `127.0.0.1:${port}`;
    env.WANLLMDB__STORAGE__S3__CORS_ORIGINS = `http://127.0.0.1:${port}`;
  }
  const child = spawn(bin, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((ok, fail) => {
    child.once('error', (e) => fail(new Error(`cannot start ${bin}: ${e.message} (cargo build -p wanllmdb-server --features ui)`)));
    child.once('exit', (code) => fail(new Error(`wanllmdb-server exited with ${code} before listening`)));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = line.match(/^wanllmdb-server listening on (\S+)/);
      if (m) ok(m[1].replace(/\/$/, ''));
    });
  });
  const index = await fetch(`${base}${extraEnv.WANLLMDB__SERVER__BASE_PATH ?? '/'}`).then((r) => r.text());
  if (!index.includes('id="root"')) {
    child.kill();
    throw new Error(`${bin} serves no UI at /: build web/ and the server with --features ui (make run does both)`);
  }
  return {
    base,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
      if (database) execFileSync('psql', [need('TEST_DATABASE_URL'), '-q', '-c', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
    },
  };
}

function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}
