import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { compactUtc, isoUtc } from '../../core/time/iso.ts';

// Years 1970–9999: the range toISOString writes with four digits.
const instant = fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });

test('isoUtc formats any instant exactly as Date#toISOString, across day changes in any order', () => {
  fc.assert(
    fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (times) => {
      for (const ms of times) expect(isoUtc(ms)).toBe(new Date(ms).toISOString());
    }),
  );
});

test('compactUtc is the basic-format time to the second that decision ids carry', () => {
  fc.assert(
    fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (times) => {
      for (const ms of times) {
        const iso = new Date(ms).toISOString();
        expect(compactUtc(ms)).toBe(`${iso.slice(0, 19).replaceAll('-', '').replaceAll(':', '')}Z`);
      }
    }),
  );
  expect(compactUtc(Date.UTC(2024, 2, 10, 10, 40, 0, 999))).toBe('20240310T104000Z');
});
