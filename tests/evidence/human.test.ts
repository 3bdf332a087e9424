import { describe, expect, it } from 'bun:test';
import { human } from '../../core/evidence/human.ts';

describe('numbers in text for people', () => {
  it('shows four significant digits, at least two decimals above 1, and names what is not a number', () => {
    expect(human(0.06592034)).toBe('0.06592');
    expect(human(1.234567)).toBe('1.235');
    expect(human(12.34567)).toBe('12.35');
    expect(human(9933.01234)).toBe('9933.01');
    expect(human(-48.19243)).toBe('-48.19');
    expect(human(42)).toBe('42');
    expect(human(0.08000000000000002)).toBe('0.08');
    expect(human(null)).toBe('—');
    expect(human(Number.POSITIVE_INFINITY)).toBe('∞');
  });
});
