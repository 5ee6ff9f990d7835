import { describe, expect, it } from 'vitest';
import { arrange, commonFolder, parseAliases } from './pick';

const f = (path: string) => ({ path, file: new Blob([path]) });

describe('choosing files to upload', () => {
  it('finds the one folder a drop has in common', () => {
    expect(commonFolder([f('ckpt/a.bin'), f('ckpt/sub/b.bin')])).toBe('ckpt');
    expect(commonFolder([f('ckpt/a.bin'), f('other/b.bin')])).toBeNull();
    expect(commonFolder([f('a.bin')])).toBeNull();
  });

  it('strips that folder, drops OS clutter, keeps the last of repeated paths, sorts', () => {
    const last = f('ckpt/a.bin');
    const out = arrange([f('ckpt/z.txt'), f('ckpt/a.bin'), f('ckpt/.DS_Store'), last], 'ckpt');
    expect(out.map((x) => x.path)).toEqual(['a.bin', 'z.txt']);
    expect(out[0]?.file).toBe(last.file);
    expect(arrange([f('ckpt/a.bin')], null).map((x) => x.path)).toEqual(['ckpt/a.bin']);
  });

  it('reads aliases from a comma or space separated list', () => {
    expect(parseAliases(' best, prod best latest  ')).toEqual(['best', 'prod']);
    expect(parseAliases('')).toEqual([]);
  });
});
