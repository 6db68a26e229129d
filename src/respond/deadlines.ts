/**
 * Legal deadlines from a start instant: hours (GDPR's 72 h, UU PDP's 3 × 24 h), calendar days and
 * working days counted in the jurisdiction's own time zone, with its public holidays from
 * date-holidays. A day-counted period ends at 23:59:59 local time on its last day, and (as in
 * Brazilian and most civil-law counting) the day of the start instant is not counted.
 */
import Holidays from 'date-holidays';

/** A calendar date in some zone, as YYYY-MM-DD. */
export type LocalDate = string;

const offsetFormats = new Map<string, Intl.DateTimeFormat>();
const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at `at`, in minutes (e.g. -180 for America/Sao_Paulo). */
function offsetMinutes(at: Date, timeZone: string): number {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormats.set(timeZone, format);
  }
  const name = format.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

export function localDate(at: Date, timeZone: string): LocalDate {
  let format = dateFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(timeZone, format);
  }
  return format.format(at);
}

export function addCalendarDays(date: LocalDate, days: number): LocalDate {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

function weekday(date: LocalDate): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

const holidayCalendars = new Map<string, { hd: Holidays; years: Map<number, Set<string>> }>();

/** The public holidays (not bank, school or optional days) of `code` ("BR", "US.CA") in `year`. */
export function publicHolidays(code: string, year: number): Set<string> {
  let calendar = holidayCalendars.get(code);
  if (!calendar) {
    const [country, state] = code.split('.') as [string, string | undefined];
    const hd = state ? new Holidays(country, state) : new Holidays(country);
    if (!hd.getCountries()[country]) throw new Error(`date-holidays knows no country ${country}`);
    calendar = { hd, years: new Map() };
    holidayCalendars.set(code, calendar);
  }
  let days = calendar.years.get(year);
  if (!days) {
    days = new Set(calendar.hd.getHolidays(year).filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
    calendar.years.set(year, days);
  }
  return days;
}

export function isWorkingDay(date: LocalDate, holidays: string | undefined): boolean {
  const day = weekday(date);
  if (day === 0 || day === 6) return false;
  return !holidays || !publicHolidays(holidays, Number(date.slice(0, 4))).has(date);
}

/** The `days`th working day after `date` (the start day itself is not counted). */
export function addWorkingDays(date: LocalDate, days: number, holidays: string | undefined): LocalDate {
  let current = date;
  for (let counted = 0; counted < days; ) {
    current = addCalendarDays(current, 1);
    if (isWorkingDay(current, holidays)) counted++;
  }
  return current;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** 23:59:59 local time on `date`, as RFC 3339 with the zone's offset that day. */
export function endOfLocalDay(date: LocalDate, timeZone: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d, 23, 59, 59);
  // The offset at the guessed instant, then again at the corrected one (a DST change that day).
  let offset = offsetMinutes(new Date(wall), timeZone);
  offset = offsetMinutes(new Date(wall - offset * 60_000), timeZone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${date}T23:59:59${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** RFC 3339 in UTC, whole seconds. */
export function utcTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function addHours(at: Date, hours: number): string {
  return utcTime(new Date(at.getTime() + hours * 3_600_000));
}

export function calendarDaysAfter(at: Date, days: number, timeZone: string): string {
  return endOfLocalDay(addCalendarDays(localDate(at, timeZone), days), timeZone);
}

export function workingDaysAfter(at: Date, days: number, timeZone: string, holidays: string | undefined): string {
  return endOfLocalDay(addWorkingDays(localDate(at, timeZone), days, holidays), timeZone);
}
