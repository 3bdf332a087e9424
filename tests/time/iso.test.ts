import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { compactUtc, isoUtc, parseUtcTime } from '../../core/time/iso.ts';

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

test("parseUtcTime reads back any instant written as toISOString, and its day as that day's start", () => {
  fc.assert(
    fc.property(instant, (ms) => {
      const iso = new Date(ms).toISOString();
      expect(parseUtcTime(iso)).toBe(ms);
      expect(parseUtcTime(iso.slice(0, 10))).toBe(Date.parse(`${iso.slice(0, 10)}T00:00:00Z`));
    }),
  );
});

test('parseUtcTime takes a zone or none (UTC), minutes without seconds, and a space for the T', () => {
  const at = Date.UTC(2026, 4, 3, 3, 0);
  expect(parseUtcTime('2026-05-03T03:00Z')).toBe(at);
  expect(parseUtcTime('2026-05-03T03:00')).toBe(at);
  expect(parseUtcTime('2026-05-03 03:00:00')).toBe(at);
  expect(parseUtcTime('2026-05-03T05:00+02:00')).toBe(at);
  expect(parseUtcTime('2026-05-02T22:30-0430')).toBe(at);
  expect(parseUtcTime(' 2026-05-03t03:00z ')).toBe(at);
  expect(parseUtcTime('2026-05-03T03:00:00.123456Z')).toBe(at + 123);
});

test('parseUtcTime refuses what is not a time, days and hours that do not exist included', () => {
  for (const bad of [
    '',
    'yesterday',
    'May 3 2026',
    '2026-13-01',
    '2026-02-30',
    '2026-02-29T00:00Z',
    '2026-05-03T24:00Z',
    '2026-05-03T03:60Z',
    '2026-05-03T03:00:60Z',
    '2026-05-03T03:00+24:00',
    '2026-05-03T03',
    '1778468400000',
  ])
    expect(parseUtcTime(bad)).toBeNull();
  expect(parseUtcTime('2028-02-29')).toBe(Date.UTC(2028, 1, 29));
});
