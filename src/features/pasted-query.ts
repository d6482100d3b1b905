/**
 * A layer URL pasted from a browser often carries a query: `…/FeatureServer/0/query?where=…&outFields=…`.
 * Its parameters are honoured (where, outFields, outSR, resultRecordCount as a limit) or refused with a clear error: never
 * dropped silently, since dropping a `where` exports every feature. Empty parameters (the ArcGIS
 * HTML query form sends them all) and parameters that change nothing (`f`, `returnGeometry=true`,
 * `spatialRel` without a geometry, …) are ignored. A parameter that conflicts with an explicit
 * option is a USAGE error.
 */
import { EtlError } from '../core/errors.js';
import { parseHttpUrl } from '../core/url.js';
import { normalizeLayerUrl } from './metadata.js';

export interface PastedQuery {
  /** The layer URL: no query string, no `/query`. */
  layerUrl: string;
  where?: string | undefined;
  /** Undefined for all fields (`*`). */
  fields?: string[] | undefined;
  outSR?: number | undefined;
  /** `resultRecordCount`: at most this many features. */
  limit?: number | undefined;
}

/** What the caller asked for explicitly (flags or options), to merge with the pasted query. */
export interface ExplicitQuery {
  where?: string | undefined;
  fields?: readonly string[] | undefined;
  outSR?: number | undefined;
  limit?: number | undefined;
}

/** Parameters that never change which features are exported or how, whatever their value. */
const INERT = new Set(['f']);
/** Parameters that change nothing when they have this value. */
const INERT_VALUES: Readonly<Record<string, readonly string[]>> = {
  returngeometry: ['true'],
  returnidsonly: ['false'],
  returncountonly: ['false'],
  returnextentonly: ['false'],
  returndistinctvalues: ['false'],
  returnz: ['false'],
  returnm: ['false'],
  returntruecurves: ['false'],
  returnexceededlimitfeatures: ['true', 'false'],
  featureencoding: ['esridefault'],
  sqlformat: ['none'],
};
/** Parameters of a spatial filter: inert without a `geometry`. */
const SPATIAL = ['geometrytype', 'spatialrel', 'insr', 'distance', 'units'];

const WHY: Readonly<Record<string, string>> = {
  token: 'a token in a URL is not accepted: credentials come from the environment (ARCGIS_TOKEN)',
  geometry:
    'spatial filters (geometry, geometryType, spatialRel, inSR) are not supported by export yet: filter with where instead',
  orderbyfields: 'export writes features in OBJECTID order; orderByFields cannot be honoured',
  resultoffset: 'export writes every feature that matches; resultOffset cannot be honoured',
};

function wkidOf(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  try {
    const parsed = JSON.parse(text) as { wkid?: unknown; latestWkid?: unknown };
    const wkid = parsed.latestWkid ?? parsed.wkid;
    return typeof wkid === 'number' && Number.isInteger(wkid) && wkid > 0 ? wkid : undefined;
  } catch {
    return undefined;
  }
}

function splitFields(value: string): string[] | undefined {
  const fields = value
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  return fields.length === 0 || fields.includes('*') ? undefined : fields;
}

/** Reads the query parameters of a pasted layer URL (see the module comment). */
export function parsePastedLayerUrl(input: string): PastedQuery {
  const url = parseHttpUrl(input);
  const params = new Map<string, { name: string; value: string }>();
  for (const [name, value] of url.searchParams) {
    const key = name.toLowerCase();
    if (params.has(key)) throw new EtlError('USAGE', `The URL gives the query parameter ${name} twice`);
    params.set(key, { name, value });
  }
  const out: PastedQuery = { layerUrl: normalizeLayerUrl(input) };
  const hasGeometry = (params.get('geometry')?.value.trim() ?? '') !== '';
  const refused: string[] = [];
  for (const [key, { name, value }] of params) {
    const text = value.trim();
    if (key === 'token') {
      refused.push(`${name}: ${WHY.token}`);
      continue;
    }
    if (text === '' || INERT.has(key)) continue;
    if (INERT_VALUES[key]?.includes(text.toLowerCase())) continue;
    if (SPATIAL.includes(key) && !hasGeometry) continue;
    switch (key) {
      case 'where':
        if (text !== '1=1') out.where = text;
        break;
      case 'outfields':
        out.fields = splitFields(text);
        break;
      case 'resultrecordcount':
        if (/^\d+$/.test(text) && Number(text) >= 1 && Number.isSafeInteger(Number(text)))
          out.limit = Number(text);
        else refused.push(`${name}=${text}: not a positive number of features`);
        break;
      case 'outsr': {
        const wkid = wkidOf(text);
        if (wkid === undefined) refused.push(`${name}=${text}: not a spatial reference wkid`);
        else out.outSR = wkid;
        break;
      }
      default:
        if (SPATIAL.includes(key) || key === 'geometry') {
          if (key === 'geometry') refused.push(`${name}: ${WHY.geometry}`);
        } else {
          refused.push(`${name}${WHY[key] ? `: ${WHY[key]}` : ''}`);
        }
    }
  }
  if (refused.length > 0) {
    throw new EtlError(
      'USAGE',
      `The layer URL has query parameters export cannot honour: ${refused.join('; ')}. Remove them (export honours where, outFields, outSR and resultRecordCount from the URL, or --where, --fields, --out-sr)`,
    );
  }
  return out;
}

function sameFields(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const norm = (f: readonly string[] | undefined) => (f ?? ['*']).map((x) => x.toLowerCase()).join(',');
  return norm(a) === norm(b);
}

/**
 * The pasted query merged with explicit options: each value comes from whichever gives it; both
 * giving different values is a USAGE error naming the option.
 */
export function mergePastedQuery(pasted: PastedQuery, explicit: ExplicitQuery): Required<ExplicitQuery> {
  const conflict = (option: string, param: string) =>
    new EtlError('USAGE', `${option} and the URL's ${param} disagree: give the value once`);
  const explicitWhere = explicit.where?.trim();
  const where = explicitWhere === '' || explicitWhere === '1=1' ? undefined : explicitWhere;
  if (where !== undefined && pasted.where !== undefined && where !== pasted.where)
    throw conflict('--where', 'where');
  if (
    explicit.fields !== undefined &&
    pasted.fields !== undefined &&
    !sameFields(explicit.fields, pasted.fields)
  )
    throw conflict('--fields', 'outFields');
  if (explicit.outSR !== undefined && pasted.outSR !== undefined && explicit.outSR !== pasted.outSR)
    throw conflict('--out-sr', 'outSR');
  if (explicit.limit !== undefined && pasted.limit !== undefined && explicit.limit !== pasted.limit)
    throw conflict('limit', 'resultRecordCount');
  return {
    where: where ?? pasted.where,
    fields: explicit.fields ?? pasted.fields,
    outSR: explicit.outSR ?? pasted.outSR,
    limit: explicit.limit ?? pasted.limit,
  };
}
