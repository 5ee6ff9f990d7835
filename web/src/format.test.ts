import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, summaryLine } from './format';

describe('formatting', () => {
  it('sizes and counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.00 GiB');
    expect(formatBytes(-1)).toBe('—');
    expect(formatCount(7_241_728)).toBe('7.24M');
    expect(formatCount(999)).toBe('999');
  });

  it('summarises markdown as its first plain line', () => {
    expect(summaryLine('## ResNet-50\n\nTrained on **imagenet**.')).toBe('ResNet-50');
    expect(summaryLine('\n\n<script>x()</script>\n[docs](https://x.org) and `code`')).toBe('docs and code');
    expect(summaryLine('')).toBe('');
  });
});
