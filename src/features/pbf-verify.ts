/**
 * Trust, but verify, a server's `f=pbf`. Some encoders lose data in ways nothing in the answer shows
 * (Koop writes Integer fields as sint32: 1,700,000,001,000 arrives as -807,048,216 in every
 * decoder). So before an extraction takes any pbf page as data, the first non-empty one is checked
 * against the server's own f=json answer for a few of its features (the same query, those object
 * ids): one extra small request per extraction. If they disagree beyond the quantization the pbf
 * answer declares (half a step per coordinate), the extraction stays on JSON and says why.
 *
 * `comparePages` is the check itself: pure, for any server.
 */
import { EtlError } from '../core/errors.js';
import type { EsriFeature } from '../core/protocol.js';
import type { Params } from '../http/types.js';
import { featureJsonParser } from './big-integers.js';
import type { PbfField, PbfQueryResult } from './pbf-decode.js';
import type { QueryContext } from './strategies/types.js';

/** Features of the first pbf page checked against f=json. */
export const VERIFY_SAMPLE = 5;

type Quantization = Extract<PbfQueryResult, { kind: 'features' }>['quantization'];

export interface PbfSample {
  features: readonly EsriFeature[];
  fields: readonly PbfField[];
  quantization: Quantization;
  /** Positions carry z (then m, when they have a fourth value). */
  hasZ: boolean;
}

const TWO_32 = 4294967296;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function closeEnough(a: number, b: number, step: number): boolean {
  // half a quantization step, and the rounding of dequantization (a few ulps of the value)
  return Math.abs(a - b) <= step / 2 + 8 * Number.EPSILON * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Why a pbf attribute value differs from its JSON twin, or undefined when it does not. */
function attributeDisagreement(
  name: string,
  type: string | undefined,
  json: unknown,
  pbf: unknown,
): string | undefined {
  if (Object.is(json, pbf) || json === pbf) return undefined;
  if (typeof json === 'number' && typeof pbf === 'number') {
    if (type === 'esriFieldTypeSingle' && Math.fround(json) === Math.fround(pbf)) return undefined;
    // ArcGIS prints some doubles in f=json to 15 significant digits, where the pbf carries the
    // double itself (arcpbf's big-pnts: -6.2733992690000004 in pbf, -6.273399269 in json)
    if (!Number.isInteger(json) && json.toPrecision(15) === pbf.toPrecision(15)) return undefined;
    if (Number.isInteger(json) && (json | 0) === pbf) return `truncates field \`${name}\` to 32 bits`;
    if (Number.isInteger(json) && Number.isInteger(pbf) && (json - pbf) % TWO_32 === 0) {
      return `truncates field \`${name}\` to 32 bits`;
    }
    if (Math.fround(json) === pbf && type !== 'esriFieldTypeSingle') {
      return `rounds field \`${name}\` to a 32-bit float`;
    }
  }
  if (pbf === undefined) return `drops field \`${name}\``;
  return `gives field \`${name}\` as ${describe(pbf)} where its json gives ${describe(json)}`;
}

/** [x, y, z?, m?] positions by part, and which of z and m the geometry has. */
interface Shape {
  kind: string;
  parts: (number | null)[][][];
}

function shapeOf(g: Record<string, unknown>): Shape | undefined {
  if ('x' in g) {
    const p: (number | null)[] = [g.x as number, g.y as number];
    if ('z' in g) p.push(g.z as number);
    if ('m' in g) p.push(g.m as number | null);
    return { kind: `point${'z' in g ? 'Z' : ''}${'m' in g ? 'M' : ''}`, parts: [[p]] };
  }
  if ('xmin' in g) {
    return {
      kind: 'envelope',
      parts: [[[g.xmin as number, g.ymin as number, g.xmax as number, g.ymax as number]]],
    };
  }
  for (const key of ['points', 'paths', 'rings'] as const) {
    if (Array.isArray(g[key])) {
      const value = g[key] as (number | null)[][] | (number | null)[][][];
      return {
        kind: key,
        parts: key === 'points' ? [value as (number | null)[][]] : (value as (number | null)[][][]),
      };
    }
  }
  return undefined;
}

function geometryDisagreement(
  json: EsriFeature['geometry'],
  pbf: EsriFeature['geometry'],
  q: Quantization,
  hasZ: boolean,
): string | undefined {
  const jsonEmpty = json === null || json === undefined;
  const pbfEmpty = pbf === null || pbf === undefined;
  if (jsonEmpty || pbfEmpty)
    return jsonEmpty === pbfEmpty ? undefined : `${pbfEmpty ? 'loses' : 'invents'} a geometry`;
  const a = shapeOf(json as Record<string, unknown>);
  const b = shapeOf(pbf as Record<string, unknown>);
  if (!a || !b) return a === b ? undefined : 'gives a geometry of another kind';
  if (a.kind !== b.kind) return `gives a ${b.kind} geometry where its json gives ${a.kind}`;
  if (a.parts.length !== b.parts.length)
    return `gives ${b.parts.length} parts where its json gives ${a.parts.length}`;
  // per position index: x, y, then z or m, then m
  const steps = [q?.x ?? 0, q?.y ?? 0, hasZ ? (q?.z ?? 0) : (q?.m ?? 0), q?.m ?? 0];
  const names = ['x', 'y', hasZ ? 'z' : 'm', 'm'];
  if (a.kind === 'envelope') {
    steps.splice(0, 4, q?.x ?? 0, q?.y ?? 0, q?.x ?? 0, q?.y ?? 0);
    names.splice(0, 4, 'xmin', 'ymin', 'xmax', 'ymax');
  }
  for (let p = 0; p < a.parts.length; p++) {
    const pa = a.parts[p]!;
    const pb = b.parts[p]!;
    if (pa.length !== pb.length) return `gives ${pb.length} vertices where its json gives ${pa.length}`;
    for (let v = 0; v < pa.length; v++) {
      const va = pa[v]!;
      const vb = pb[v]!;
      if (va.length !== vb.length)
        return `gives ${vb.length} values per vertex where its json gives ${va.length}`;
      for (let d = 0; d < va.length; d++) {
        const x = va[d];
        const y = vb[d];
        if (x === null || y === null || x === undefined || y === undefined) {
          if (x !== y) return `gives ${names[d]} ${describe(y)} where its json gives ${describe(x)}`;
          continue;
        }
        if (!closeEnough(x, y, steps[d]!)) {
          return `gives ${names[d]} ${y} where its json gives ${x}, more than half its quantization step (${steps[d]}) apart`;
        }
      }
    }
  }
  return undefined;
}

/**
 * The first disagreement between the JSON and pbf answers of the same features, described as what
 * the server's pbf does ("truncates field `when` to 32 bits (OID 3: …)"), or undefined when they
 * agree: same features, attributes equal (a Single field to float32), coordinates within half the
 * pbf answer's quantization step. Features are matched by `oidField`, else by position.
 */
export function comparePages(
  json: readonly EsriFeature[],
  pbf: PbfSample,
  oidField: string | undefined,
): string | undefined {
  const types = new Map(pbf.fields.map((f) => [f.name, f.type]));
  const byOid = new Map<unknown, EsriFeature>();
  if (oidField !== undefined) for (const f of pbf.features) byOid.set(f.attributes?.[oidField], f);
  // by position: the same count; by OID: every json feature must be in the pbf page
  if (oidField === undefined && pbf.features.length !== json.length) {
    return `answers ${pbf.features.length} features where its json answers ${json.length}`;
  }
  for (let i = 0; i < json.length; i++) {
    const j = json[i]!;
    const oid = oidField === undefined ? undefined : j.attributes?.[oidField];
    const p = oidField === undefined ? pbf.features[i] : byOid.get(oid);
    const where = oid === undefined ? `feature ${i + 1}` : `OID ${describe(oid)}`;
    if (p === undefined) return `lacks ${where}`;
    for (const [name, value] of Object.entries(j.attributes ?? {})) {
      const pv = p.attributes?.[name];
      const why = attributeDisagreement(name, types.get(name), value, pv);
      if (why) return `${why} (${where}: ${describe(value)} in json, ${describe(pv)} in pbf)`;
    }
    const why = geometryDisagreement(j.geometry, p.geometry, pbf.quantization, pbf.hasZ);
    if (why) return `${why} (${where})`;
  }
  return undefined;
}

/**
 * Checks a pbf page against f=json features of the same query fetched already: up to VERIFY_SAMPLE
 * of those the page holds (by OID). Returns the disagreement, undefined when they agree, or null
 * when the page holds none of them (then a request must check it: verifyPbfPage).
 */
export function verifyAgainst(
  json: readonly EsriFeature[],
  page: PbfSample,
  oidField: string,
): string | undefined | null {
  const inPage = new Set(page.features.map((f) => f.attributes?.[oidField]));
  const shared = json.filter((f) => inPage.has(f.attributes?.[oidField])).slice(0, VERIFY_SAMPLE);
  if (shared.length === 0) return null;
  const why = comparePages(shared, page, oidField);
  return why === undefined ? undefined : `the server's pbf ${why}`;
}

/** Query parameters that page or order: the check asks for given object ids instead. */
const PAGING = new Set(['resultOffset', 'resultRecordCount', 'orderByFields', 'f']);

/**
 * Checks a pbf page of `params` against the f=json answer for up to VERIFY_SAMPLE of its features
 * (one request). Returns the disagreement ("the server's pbf truncates field `when` to 32 bits
 * (…)"), or undefined when they agree or the page has no features to check.
 */
export async function verifyPbfPage(
  ctx: QueryContext,
  params: Params,
  page: PbfSample,
): Promise<string | undefined> {
  const oidField = ctx.layer.oidField;
  const sample = page.features.slice(0, VERIFY_SAMPLE);
  const oids = sample.map((f) => f.attributes?.[oidField]).filter((v): v is number => typeof v === 'number');
  if (oids.length === 0) return undefined;
  const check: Params = {};
  for (const [key, value] of Object.entries(params)) if (!PAGING.has(key)) check[key] = value;
  check.objectIds = oids.join(',');
  const body = await ctx.client.request<{ features?: unknown }>(`${ctx.layer.url}/query`, check, {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(featureJsonParser(ctx.layer.fields) ? { parseJson: featureJsonParser(ctx.layer.fields)! } : {}),
  });
  if (!Array.isArray(body?.features)) {
    throw new EtlError('INVALID_RESPONSE', `The query answer of ${ctx.layer.url} has no features array`, {
      url: `${ctx.layer.url}/query`,
    });
  }
  // only the features asked for (a server may add a row or cut the page short: not the pbf's doing);
  // none of them at all, and the pbf cannot be vouched for: JSON, the safe side
  const asked = new Set<unknown>(oids);
  const json = (body.features as EsriFeature[]).filter((f) => asked.has(f.attributes?.[oidField]));
  if (json.length === 0) return `the server's f=json answers none of the features of its first pbf page`;
  const why = comparePages(json, { ...page, features: sample }, oidField);
  return why === undefined ? undefined : `the server's pbf ${why}`;
}
