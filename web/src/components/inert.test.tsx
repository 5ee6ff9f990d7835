import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/react';
import { Markdown } from './Markdown';
import { JsonTree } from './JsonTree';

describe('Markdown', () => {
  it('renders markdown but drops raw HTML and script URLs', () => {
    const hostile = [
      '# Model card',
      '',
      '<script>window.__pwned = 1</script>',
      '<img src=x onerror="window.__pwned = 2">',
      '',
      '[click](javascript:alert(1)) and [docs](https://example.org/)',
    ].join('\n');
    const { container } = render(<Markdown text={hostile} />);
    expect(screen.getByRole('heading', { name: 'Model card' })).toBeInTheDocument();
    expect(container.querySelector('script')).toBeNull();
    expect(container.querySelector('img')).toBeNull();
    expect(container.innerHTML).not.toContain('onerror');
    const links = [...container.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['', 'https://example.org/']);
    expect(links[1]).toHaveAttribute('rel', 'noopener noreferrer nofollow');
  });
});

describe('JsonTree', () => {
  it('folds deep values and shows strings as text', () => {
    const value = { name: '<b>bold</b>', deep: { deeper: { deepest: [1, 2, 3] } } };
    const { container } = render(<JsonTree value={value} open={2} />);
    expect(container.querySelector('b')).toBeNull();
    expect(screen.getByText('"<b>bold</b>"')).toBeInTheDocument();
    expect(screen.queryByText(/"deepest"/)).toBeNull();
    expect(screen.getByText(/1 keys/)).toBeInTheDocument();
    const folded = screen.getAllByRole('button', { expanded: false });
    expect(folded).toHaveLength(1);
    fireEvent.click(folded[0]!);
    expect(screen.getByText(/"deepest"/)).toBeInTheDocument();
  });
});
