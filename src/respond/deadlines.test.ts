import { describe, expect, it } from 'vitest';
import { addWorkingDays, calendarDaysAfter, endOfLocalDay, isWorkingDay, localDate, workingDaysAfter } from './deadlines.ts';

describe('deadlines', () => {
  it('the local date of an instant depends on the zone', () => {
    const at = new Date('2026-11-18T02:00:00Z');
    expect(localDate(at, 'America/Sao_Paulo')).toBe('2026-11-17');
    expect(localDate(at, 'Asia/Tokyo')).toBe('2026-11-18');
  });

  it('a day ends at 23:59:59 local time, with that day\'s offset across DST changes', () => {
    expect(endOfLocalDay('2026-03-28', 'Europe/Paris')).toBe('2026-03-28T23:59:59+01:00');
    expect(endOfLocalDay('2026-03-29', 'Europe/Paris')).toBe('2026-03-29T23:59:59+02:00');
    expect(endOfLocalDay('2026-11-01', 'America/New_York')).toBe('2026-11-01T23:59:59-05:00');
  });

  it('working days skip weekends and public holidays, not bank or optional days', () => {
    expect(isWorkingDay('2026-11-20', 'BR')).toBe(false); // Dia da Consciência Negra
    expect(isWorkingDay('2026-02-16', 'BR')).toBe(true); // Carnaval: a bank day, not a public holiday
    expect(isWorkingDay('2026-11-21', undefined)).toBe(false); // Saturday
    expect(addWorkingDays('2026-12-23', 3, 'BR')).toBe('2026-12-29'); // 24, (25 Natal, weekend), 28, 29
    expect(addWorkingDays('2026-12-30', 1, 'BR')).toBe('2026-12-31');
    expect(addWorkingDays('2026-12-31', 1, 'BR')).toBe('2027-01-04'); // New Year, then the weekend
  });

  it('days are counted from the day after the start, in the law\'s zone', () => {
    expect(calendarDaysAfter(new Date('2026-11-18T14:00:00Z'), 30, 'America/Chicago')).toBe('2026-12-18T23:59:59-06:00');
    expect(workingDaysAfter(new Date('2026-11-18T14:00:00Z'), 3, 'America/Sao_Paulo', 'BR')).toBe('2026-11-24T23:59:59-03:00');
  });
});
