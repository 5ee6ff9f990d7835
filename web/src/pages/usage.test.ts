import { describe, expect, it } from 'vitest';
import { usageSnippets } from './usage';

describe('usage snippets', () => {
  it('name exactly this version everywhere', () => {
    const snippets = usageSnippets('vision', 'resnet', 'v7', 'https://reg.example/ml/');
    expect(snippets.map(([t]) => t)).toEqual(['Command line', 'Python', 'Rust']);
    for (const [, code] of snippets) expect(code).toContain('resnet:v7');
    expect(snippets[0]?.[1]).toContain('wanllmdb artifact get vision/resnet:v7 -o ./resnet');
    expect(snippets[0]?.[1]).toContain('--url https://reg.example/ml');
    expect(snippets[1]?.[1]).toContain('wanllmdb.Api().artifact("vision/resnet:v7")');
  });
});
