import { describe, expect, it } from 'vitest';
import { safeNext } from './SignIn';

describe('where sign-in leads', () => {
  it('only to a path of this app', () => {
    expect(safeNext('/projects/1?q=x')).toBe('/projects/1?q=x');
    expect(safeNext(null)).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
    expect(safeNext('//evil.example/')).toBe('/');
    expect(safeNext('/\\evil.example/')).toBe('/');
    expect(safeNext('javascript:alert(1)')).toBe('/');
  });
});
