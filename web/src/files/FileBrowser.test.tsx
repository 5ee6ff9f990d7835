import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, fireEvent } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router';

// The API client takes `fetch` when its module loads: stub it first.
const calls = vi.hoisted(() => [] as URL[]);
vi.hoisted(() => {
  globalThis.fetch = (async (input: RequestInfo | URL) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    calls.push(url);
    return new Response(JSON.stringify(listing(url)), {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
    });
  }) as typeof fetch;

  function file(path: string, i: number) {
    return {
      kind: 'file',
      id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
      version_id: 'v',
      path,
      name: path.split('/').pop(),
      size: 4096,
      md5_hash: 'd41d8cd98f00b204e9800998ecf8427e',
      sha256_hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      content_type: 'application/octet-stream',
      storage_key: 'k',
      created_at: '2026-12-01T00:00:00Z',
    };
  }
  function listing(url: URL) {
    const prefix = url.searchParams.get('prefix') ?? '';
    const cursor = Number(url.searchParams.get('cursor') ?? '0');
    if (prefix === '' && url.searchParams.get('delimiter') === '/') {
      return {
        items: [
          { kind: 'folder', path: 'shards/', name: 'shards', file_count: 100000, total_size: 409600000 },
          file('README.md', 0),
        ],
        next_cursor: null,
      };
    }
    // 100,000 files under shards/, 500 a page.
    const items = Array.from({ length: 500 }, (_, i) => file(`${prefix}${String(cursor + i).padStart(6, '0')}.bin`, cursor + i + 1));
    return { items, next_cursor: cursor + 500 < 100000 ? String(cursor + 500) : null };
  }
});

import { FileBrowser } from './FileBrowser';
import type { Version } from '../api/client';

const version = {
  id: '00000000-0000-7000-8000-00000000000a',
  artifact_id: 'a',
  project_id: 'p',
  version: 'v3',
  description: '',
  metadata: {},
  file_count: 100001,
  total_size: 409604096,
  storage_path: 's',
  is_finalized: true,
  created_by: 'u',
  created_at: '2026-12-01T00:00:00Z',
  updated_at: '2026-12-01T00:00:00Z',
  aliases: [],
} as unknown as Version;

function show(entry = '/versions/x/files') {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[entry]}>
        <FileBrowser version={version} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('FileBrowser', () => {
  beforeAll(() => {
    // jsdom lays nothing out: give the scroller the size a screen would.
    vi.spyOn(HTMLElement.prototype, 'getBoundingClientRect').mockReturnValue({
      width: 800,
      height: 600,
      top: 0,
      left: 0,
      right: 800,
      bottom: 600,
      x: 0,
      y: 0,
      toJSON: () => ({}),
    });
    vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(600);
    vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(800);
  });
  beforeEach(() => {
    calls.length = 0;
  });

  it('lists a folder with its totals, then opens it by a click', async () => {
    const { container } = show();
    expect(await screen.findByText('shards/')).toBeInTheDocument();
    expect(screen.getByText('100,000')).toBeInTheDocument();
    expect(screen.getByText('390.6 MiB')).toBeInTheDocument();
    expect(calls[0]?.searchParams.get('delimiter')).toBe('/');
    fireEvent.click(screen.getByText('shards/'));
    await screen.findByText('000000.bin');
    const opened = calls.at(-1);
    expect(opened?.searchParams.get('prefix')).toBe('shards/');
    expect(screen.getByTestId('breadcrumbs')).toHaveTextContent('v3 / shards');
    // 500 rows loaded, only a window of them drawn.
    const drawn = container.querySelectorAll('[data-testid="file-list"] [data-row]').length;
    expect(drawn).toBeGreaterThan(0);
    expect(drawn).toBeLessThan(200);
    expect(screen.getByTestId('download-zip').getAttribute('href')).toContain('prefix=shards%2F');
  });

  it('searches by path prefix without the delimiter', async () => {
    show('/versions/x/files?path=shards/&find=0001');
    await screen.findByText('0001000000.bin');
    const last = calls.at(-1);
    expect(last?.searchParams.get('prefix')).toBe('shards/0001');
    expect(last?.searchParams.has('delimiter')).toBe(false);
  });

  it('ignores dot segments in the folder of the URL', async () => {
    show('/versions/x/files?path=../../etc/');
    await waitFor(() => expect(calls.length).toBeGreaterThan(0));
    expect(calls[0]?.searchParams.get('prefix')).toBe('etc/');
  });
});
