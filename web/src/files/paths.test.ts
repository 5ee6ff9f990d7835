import { describe, expect, it } from 'vitest';
import { crumbs, normaliseFolder, parentFolder } from './paths';

describe('folder paths', () => {
  it('normalises what the URL says', () => {
    expect(normaliseFolder(null)).toBe('');
    expect(normaliseFolder('/')).toBe('');
    expect(normaliseFolder('a/b')).toBe('a/b/');
    expect(normaliseFolder('/a//b/')).toBe('a/b/');
    expect(normaliseFolder('../a/./../b')).toBe('a/b/');
  });

  it('makes breadcrumbs and parents', () => {
    expect(crumbs('')).toEqual([]);
    expect(crumbs('a/b/')).toEqual([
      ['a', 'a/'],
      ['b', 'a/b/'],
    ]);
    expect(parentFolder('a/b/c.txt')).toBe('a/b/');
    expect(parentFolder('c.txt')).toBe('');
  });
});
