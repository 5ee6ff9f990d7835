import { describe, expect, it } from 'vitest';
import { apiQuery, DEFAULT_SORT, readQuery, writeQuery } from './projectQuery';

describe('the project page URL', () => {
  it('round-trips every field', () => {
    const query = {
      q: 'resnet',
      types: ['model' as const, 'dataset' as const],
      filter: 'metadata.accuracy >= 0.9',
      sort: '-name',
      cursor: 'abc',
    };
    expect(readQuery(writeQuery(query))).toEqual(query);
  });

  it('leaves out defaults and drops unknown types', () => {
    const params = writeQuery({ q: '', types: [], filter: '', sort: DEFAULT_SORT, cursor: '' });
    expect(params.toString()).toBe('');
    const read = readQuery(new URLSearchParams('type=model,bogus&type=model&type=code'));
    expect(read.types).toEqual(['model', 'code']);
    expect(read.sort).toBe(DEFAULT_SORT);
  });

  it('asks the API only for what is set', () => {
    expect(apiQuery('p1', readQuery(new URLSearchParams('q=x')), 50)).toEqual({
      project_id: 'p1',
      limit: 50,
      sort: DEFAULT_SORT,
      q: 'x',
    });
  });
});
