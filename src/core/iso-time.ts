/**
 * `new Date(ms).toISOString()` by integer arithmetic, for the years 0–9999 (the proleptic Gregorian
 * calendar, UTC): about a tenth of the cost of a Date and its formatting, which writers pay for every
 * date value of every feature. Other instants (6-digit years) go through Date; an instant outside
 * Date's range gives undefined.
 */

const MS_PER_DAY = 86_400_000;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
const FIRST = -62_167_219_200_000;
const LAST = 253_402_300_799_999;
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

export function isoUtc(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const t = Math.trunc(ms) + 0; // as Date's TimeClip does (and -0 as 0)
  if (t < FIRST || t > LAST) {
    const date = new Date(t);
    return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
  }
  const days = Math.floor(t / MS_PER_DAY);
  let rest = t - days * MS_PER_DAY;
  // days since 1970-01-01 → civil date (H. Hinnant's days_from_civil, inverted)
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${PAD2[Math.floor(year / 100)]}${PAD2[year % 100]}-${PAD2[month]}-${PAD2[day]}T${PAD2[hours]}:${PAD2[minutes]}:${PAD2[seconds]}.${PAD3[millis]}Z`;
}
