/**
 * Dates as ISO 8601 text, in the layer's time zone.
 *
 * `esriFieldTypeDate` values are epoch milliseconds: the instant the server answers is never
 * changed. A layer's `dateFieldsTimeReference` ({ timeZone, respectsDaylightSaving }, or
 * `timeZoneIANA` on newer servers) says in which zone the dates are kept; ISO text then shows the
 * instant as that zone's wall time with its offset (`2024-07-01T01:00:00.000-07:00`; without
 * daylight saving, the zone's standard offset all year). UTC, or no reference, is written with `Z`
 * as before. `datesInUnknownTimezone: true` means the values are wall times of an unknown zone:
 * they are written without offset (`2024-07-01T08:00:00.000`).
 *
 * `esriFieldTypeDateOnly`, `TimeOnly` and `TimestampOffset` (ArcGIS 11.2+) arrive as text and are
 * kept as the server gives them: they are no epoch values, and never converted.
 */
import { EtlError } from '../core/errors.js';
import { isoUtc } from '../core/iso-time.js';
import type { EsriField } from '../core/protocol.js';
import { WINDOWS_ZONES } from './windows-zones.js';

/** GeoJSON dates: epoch milliseconds (default, as before) or ISO 8601 text. */
export type DateMode = 'epoch' | 'iso';
export const DATE_MODES: readonly DateMode[] = ['epoch', 'iso'];

export function validateDateMode(mode: string | undefined): DateMode | undefined {
  if (mode === undefined) return undefined;
  if (!(DATE_MODES as readonly string[]).includes(mode)) {
    throw new EtlError('USAGE', `--dates must be one of ${DATE_MODES.join(', ')} (got "${mode}")`);
  }
  return mode as DateMode;
}

/**
 * `--dates` is for GeoJSON/GeoJSONSeq, `--aliases` for CSV: USAGE for another output format.
 */
export function checkValueOptions(
  format: string,
  dates: string | undefined,
  aliases: boolean | undefined,
): void {
  validateDateMode(dates);
  if (dates !== undefined && format !== 'geojson' && format !== 'geojsonseq') {
    throw new EtlError(
      'USAGE',
      `--dates applies to GeoJSON and GeoJSONSeq outputs, not ${format} (CSV writes ISO 8601; the other formats have date columns)`,
    );
  }
  if (aliases === true && format !== 'csv') {
    throw new EtlError('USAGE', `--aliases names CSV columns: it does not apply to ${format}`);
  }
}

/** How a layer's dates are written as ISO text. */
export type TimeReference =
  | { kind: 'utc' }
  /** Wall times of an unknown zone (datesInUnknownTimezone): no offset. */
  | { kind: 'unknown' }
  | { kind: 'zone'; zone: string; daylightSaving: boolean; name: string };

/**
 * The layer's time reference. A zone name we cannot map is reported through `onUnknown` and
 * written as UTC (the instant stays right).
 */
export function layerTimeReference(
  meta: Record<string, unknown> | undefined,
  onUnknown?: (message: string) => void,
): TimeReference {
  if (meta?.datesInUnknownTimezone === true) return { kind: 'unknown' };
  const ref = meta?.dateFieldsTimeReference as
    | { timeZone?: unknown; timeZoneIANA?: unknown; respectsDaylightSaving?: unknown }
    | null
    | undefined;
  if (!ref || typeof ref !== 'object') return { kind: 'utc' };
  const name =
    typeof ref.timeZoneIANA === 'string' && ref.timeZoneIANA !== '' ? ref.timeZoneIANA : ref.timeZone;
  if (typeof name !== 'string' || name === '') return { kind: 'utc' };
  const lower = name.toLowerCase();
  if (lower === 'unknown' || lower === 'unspecified') return { kind: 'unknown' };
  if (lower === 'utc' || lower === 'coordinated universal time' || lower === 'gmt' || lower === 'etc/utc') {
    return { kind: 'utc' };
  }
  const zone = WINDOWS_ZONES[name] ?? name;
  if (!isKnownZone(zone)) {
    onUnknown?.(
      `the layer's dateFieldsTimeReference names the time zone "${name}", which is not known here; dates are written in UTC`,
    );
    return { kind: 'utc' };
  }
  return { kind: 'zone', zone, daylightSaving: ref.respectsDaylightSaving !== false, name };
}

function isKnownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Date.toISOString of an instant in Date's range (the callers check `inRange`), without a Date. */
function utcText(ms: number): string {
  return isoUtc(ms)!;
}

/** Date.toISOString without the `Z` (the wall time of `ms` read as UTC). */
function wallText(ms: number): string {
  return utcText(ms).slice(0, -1);
}

function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

/**
 * Epoch milliseconds → ISO 8601 text in the reference's zone; a value that is not a finite number
 * inside the Date range is returned as it is.
 */
export function isoDateFormatter(ref: TimeReference): (value: unknown) => unknown {
  if (ref.kind === 'utc') {
    return (value) => (inRange(value) ? utcText(value) : value);
  }
  if (ref.kind === 'unknown') return (value) => (inRange(value) ? wallText(value) : value);
  const offsetOf = zoneOffset(ref.zone);
  const standard = new Map<number, number>();
  /** The zone's standard offset in the year of `ms`: the smaller of January's and July's. */
  const standardOffset = (ms: number): number => {
    const year = new Date(ms).getUTCFullYear();
    let offset = standard.get(year);
    if (offset === undefined) {
      offset = Math.min(offsetOf(Date.UTC(year, 0, 1)), offsetOf(Date.UTC(year, 6, 1)));
      standard.set(year, offset);
    }
    return offset;
  };
  return (value) => {
    if (!inRange(value)) return value;
    const minutes = ref.daylightSaving ? offsetOf(value) : standardOffset(value);
    const wall = value + minutes * 60_000;
    if (!inRange(wall)) return value;
    return `${wallText(wall)}${offsetText(minutes)}`;
  };
}

function inRange(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= 8.64e15;
}

/** The UTC offset (minutes) of a zone at an instant, from Intl (no time zone data of our own). */
function zoneOffset(zone: string): (ms: number) => number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    era: 'short',
  });
  return (ms) => {
    const parts: Record<string, string> = {};
    for (const p of format.formatToParts(new Date(ms))) parts[p.type] = p.value;
    let year = Number(parts.year);
    if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
    const asUtc = Date.UTC(
      year,
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    );
    // whole seconds of both sides: the offset in minutes (zones of seconds are rounded)
    return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
  };
}

/** The `esriFieldTypeDate` fields among `fields` (the ones holding epoch milliseconds). */
export function epochDateFields(fields: readonly EsriField[]): string[] {
  return fields.filter((f) => f.type === 'esriFieldTypeDate').map((f) => f.name);
}

/**
 * Attributes with the Date fields written as ISO text (`format`), others untouched. Returns the
 * same object when no Date field is set.
 */
export function isoDateAttributes(
  attributes: Record<string, unknown>,
  names: readonly string[],
  format: (value: unknown) => unknown,
): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const name of names) {
    const value = attributes[name];
    if (typeof value !== 'number') continue;
    out ??= { ...attributes };
    out[name] = format(value);
  }
  return out ?? attributes;
}
