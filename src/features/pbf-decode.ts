/**
 * ArcGIS `f=pbf` query answers (Esri's "FeatureCollection" protocol buffers, proto3 package
 * `esriPBuffer`, message `FeatureCollectionPBuffer`) → the objects that `JSON.parse` gives for the
 * `f=json` answer of the same query.
 *
 * - Features: `{ attributes, geometry }`, attribute keys in `fields` order, an empty `Value` is
 *   null. A feature without a geometry field has no `geometry` key, as JSON answers to
 *   `returnGeometry=false` have none; a geometry message without coordinates is `geometry: null`.
 * - Geometries: `{x, y[, z][, m]}`, `{points}`, `{paths}`, `{rings}`, `{xmin, ymin, xmax, ymax}`.
 *   Coordinates are quantized integers in the order x, y, then z when hasZ, then m when hasM. x and
 *   y are delta-encoded per part (each ring / path / multipoint part starts from 0, so its first
 *   vertex is absolute); z and m are absolute (as ArcGIS writes them, and Esri's decoder reads
 *   them). A raw m of 0 is a missing m (null), as in ArcGIS's JSON: the one value it cannot carry
 *   is m = mTranslate itself, which ArcGIS also writes as 0. A point's `lengths` are ignored (Koop
 *   writes the number of values there, not of vertices).
 * - Dequantizing: x = xTranslate + qx·xScale, y = yTranslate ∓ qy·yScale (minus for the default
 *   upper-left origin, plus for lower-left), z and m like x; a scale of 0 (absent) means 1, and an
 *   answer without a transform has identity coordinates (scale 1, translate 0, y up). When a
 *   scale is 10^-k and a translate is a decimal with at most k fractional digits, the value is
 *   computed as one division of integers, (translate·10^k ± q) / 10^k, which gives the double
 *   nearest to the exact decimal: the very double `JSON.parse` gives for the server's text.
 * - A point layer's answer usually omits `geometryType` (0 is the proto3 default): an absent
 *   `geometryType` means points when some feature has a geometry, and undefined otherwise.
 *   geometryType None (127, a table) has no geometry: its features have no `geometry` key.
 * - Compressed shape buffers, curve geometries (`curveGeometry`: true curves, which the JSON of the
 *   same query densifies), multipatches and unknown geometry types → EtlError UNSUPPORTED_GEOMETRY
 *   (ask for the page as JSON): never a feature silently without its geometry.
 * - `geometryFields` (FeatureResult field 16) and other unknown fields are skipped; an
 *   `extentCountResult` is read as `{ kind: 'extent' }`.
 * - Malformed or cut buffers → EtlError INVALID_RESPONSE / TRUNCATED_RESPONSE. Every loop
 *   consumes at least one byte per turn and nothing is allocated from an unchecked length.
 *   Unknown fields are skipped.
 *
 * Field order inside a message is not guaranteed, so the feature result is read in two passes: the
 * header (fields, transform, geometry type, …) and the byte ranges of the features, then the
 * features.
 */
import { EtlError } from '../core/errors.js';
import { literalMaker } from '../core/object-literal.js';
import { ProtoReader } from '../core/protobuf.js';
import {
  type EsriEnvelope,
  type EsriFeature,
  type EsriGeometry,
  type EsriGeometryType,
  type EsriPosition,
  PBF_FIELD_TYPES,
  PBF_GEOMETRY_MULTIPATCH,
  PBF_GEOMETRY_NONE,
  PBF_GEOMETRY_TYPES,
  type SpatialReference,
} from '../core/protocol.js';

export interface PbfField {
  name: string;
  type: string;
  alias: string;
}

export type PbfQueryResult =
  | {
      kind: 'features';
      features: EsriFeature[];
      exceededTransferLimit: boolean;
      objectIdFieldName: string | undefined;
      geometryType: EsriGeometryType | undefined;
      spatialReference: SpatialReference | undefined;
      hasZ: boolean;
      hasM: boolean;
      fields: PbfField[];
      /** The quantization step of each dimension (x, y, z, m); undefined without a transform. */
      quantization: { x: number; y: number; z: number; m: number } | undefined;
    }
  | { kind: 'count'; count: number }
  | { kind: 'extent'; extent: EsriEnvelope | undefined; count: number | undefined }
  | { kind: 'ids'; objectIdFieldName: string | undefined; objectIds: number[] };

const CONTEXT = 'The pbf answer of the query';

const POINT = 0;
const MULTIPOINT = 1;
const POLYLINE = 2;
const ENVELOPE = 5;

// tags: field number << 3 | wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32)
const VARINT = 0;
const BYTES = 2;
const tag = (field: number, wire: number): number => field * 8 + wire;

const POW10: readonly number[] = Array.from({ length: 16 }, (_, k) => 10 ** k);

function invalid(message: string): EtlError {
  return new EtlError('INVALID_RESPONSE', `${CONTEXT} is malformed: ${message}`);
}

function unsupported(message: string): EtlError {
  return new EtlError(
    'UNSUPPORTED_GEOMETRY',
    `${CONTEXT} carries ${message}, which this decoder does not read: ask for the page with f=json`,
  );
}

/** Decodes one `f=pbf` query answer (features, count or object ids). */
export function decodeQueryPbf(bytes: Uint8Array): PbfQueryResult {
  return withContext(() => decode(new ProtoReader(bytes)));
}

/**
 * Checks, in a few varints, that an answer is whole: its top-level fields (the queryResult among
 * them) end within its bytes. A body cut anywhere fails here with TRUNCATED_RESPONSE, as it would
 * in `decodeQueryPbf`, whose inner reads are bounded by the queryResult: run it where a cut body
 * can still be asked again, and decode later.
 */
export function checkPbfWhole(bytes: Uint8Array): void {
  withContext(() => queryResultSpan(new ProtoReader(bytes)));
}

function withContext<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    // the wire reader's errors say what broke but not in what
    if (error instanceof EtlError && !error.message.startsWith(CONTEXT)) {
      throw new EtlError(error.code, `${CONTEXT} is malformed: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function skipField(r: ProtoReader, t: number): void {
  if (t < 8) throw invalid(`field number 0 before byte ${r.pos}`);
  r.skip(t & 7);
}

/** The end of the length-delimited field whose length prefix is next, inside `parentEnd`. */
function sub(r: ProtoReader, parentEnd: number): number {
  const end = r.end();
  if (end > parentEnd) throw invalid(`a field at byte ${r.pos} runs past the end of its message`);
  return end;
}

function closed(r: ProtoReader, end: number): void {
  if (r.pos !== end) throw invalid(`a field runs past the end of its message (byte ${end})`);
}

/** The byte range of the (last) queryResult; every top-level field is read to its end. */
function queryResultSpan(r: ProtoReader): { start: number; end: number } {
  const length = r.bytes.length;
  let start = -1;
  let end = -1;
  while (r.pos < length) {
    const t = r.varint();
    if (t === tag(2, BYTES)) {
      end = r.end();
      start = r.pos;
      r.pos = end;
    } else skipField(r, t);
  }
  if (start < 0) throw invalid('it has no queryResult');
  return { start, end };
}

function decode(r: ProtoReader): PbfQueryResult {
  const { start, end } = queryResultSpan(r);
  // QueryResult: a oneof (the last one wins, as in any protobuf parser)
  r.pos = start;
  let kind = 0;
  let resultStart = 0;
  let resultEnd = 0;
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, BYTES) || t === tag(2, BYTES) || t === tag(3, BYTES) || t === tag(4, BYTES)) {
      resultEnd = sub(r, end);
      resultStart = r.pos;
      kind = t >>> 3;
      r.pos = resultEnd;
    } else skipField(r, t);
  }
  closed(r, end);
  r.pos = resultStart;
  switch (kind) {
    case 1:
      return decodeFeatureResult(r, resultEnd);
    case 2:
      return decodeCount(r, resultEnd);
    case 3:
      return decodeIds(r, resultEnd);
    case 4:
      return decodeExtent(r, resultEnd);
    default:
      throw invalid('its queryResult has no featureResult, countResult, idsResult or extentCountResult');
  }
}

function decodeCount(r: ProtoReader, end: number): PbfQueryResult {
  let count = 0;
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, VARINT)) count = r.varint();
    else skipField(r, t);
  }
  closed(r, end);
  return { kind: 'count', count };
}

function decodeIds(r: ProtoReader, end: number): PbfQueryResult {
  let objectIdFieldName: string | undefined;
  const objectIds: number[] = [];
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, BYTES)) objectIdFieldName = r.string();
    else if (t === tag(3, BYTES)) {
      const idsEnd = sub(r, end);
      while (r.pos < idsEnd) objectIds.push(r.varint());
      closed(r, idsEnd);
    } else if (t === tag(3, VARINT)) objectIds.push(r.varint());
    else skipField(r, t);
  }
  closed(r, end);
  return { kind: 'ids', objectIdFieldName, objectIds };
}

/** ExtentCountResult: an Envelope (1) and an optional count (2). */
function decodeExtent(r: ProtoReader, end: number): PbfQueryResult {
  let extent: EsriEnvelope | undefined;
  let count: number | undefined;
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, BYTES)) extent = readEnvelope(r, sub(r, end));
    else if (t === tag(2, VARINT)) count = r.varint();
    else skipField(r, t);
  }
  closed(r, end);
  return { kind: 'extent', extent, count };
}

/** Envelope: XMin, YMin, XMax, YMax (doubles 1 to 4), SpatialReference (5). */
function readEnvelope(r: ProtoReader, end: number): EsriEnvelope {
  const bounds: [number, number, number, number] = [0, 0, 0, 0];
  let spatialReference: SpatialReference | undefined;
  while (r.pos < end) {
    const t = r.varint();
    const field = t >>> 3;
    if ((t & 7) === 1 && field >= 1 && field <= 4) bounds[field - 1] = r.double();
    else if (t === tag(5, BYTES)) spatialReference = readSpatialReference(r, sub(r, end), spatialReference);
    else skipField(r, t);
  }
  closed(r, end);
  const [xmin, ymin, xmax, ymax] = bounds;
  return { xmin, ymin, xmax, ymax, ...(spatialReference ? { spatialReference } : {}) };
}

interface Transform {
  lowerLeft: boolean;
  // scale and translate per dimension, in the wire order: x, y, m, z
  scale: [number, number, number, number];
  translate: [number, number, number, number];
}

/** What decoding a feature needs from the header, plus scratch space reused across features. */
interface Context {
  names: string[];
  /** The attribute values of the feature being read, in field order. */
  values: unknown[];
  make: MakeAttributes | null;
  shape: number;
  stride: number;
  hasZ: boolean;
  hasM: boolean;
  /** The index of m in a vertex (2 or 3), or -1 without m. */
  mAt: number;
  // coordinate = (a + q·b) / p, per output dimension (x, y, third, fourth)
  ax: number;
  bx: number;
  px: number;
  ay: number;
  by: number;
  py: number;
  a3: number;
  b3: number;
  p3: number;
  a4: number;
  b4: number;
  p4: number;
  coords: Float64Array;
  lengths: Float64Array;
  sawGeometry: boolean;
}

function decodeFeatureResult(r: ProtoReader, end: number): PbfQueryResult {
  let objectIdFieldName: string | undefined;
  let geometryCode = -1;
  let spatialReference: SpatialReference | undefined;
  let exceededTransferLimit = false;
  let hasZ = false;
  let hasM = false;
  const transform: Transform = { lowerLeft: false, scale: [0, 0, 0, 0], translate: [0, 0, 0, 0] };
  let sawTransform = false;
  const fields: PbfField[] = [];
  // [start, end, start, end, …] of each feature message
  const ranges: number[] = [];
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case tag(15, BYTES): {
        const featureEnd = sub(r, end);
        ranges.push(r.pos, featureEnd);
        r.pos = featureEnd;
        break;
      }
      case tag(1, BYTES):
        objectIdFieldName = r.string();
        break;
      case tag(7, VARINT):
        geometryCode = r.varint();
        break;
      case tag(8, BYTES):
        spatialReference = readSpatialReference(r, sub(r, end), spatialReference);
        break;
      case tag(9, VARINT):
        exceededTransferLimit = r.bool();
        break;
      case tag(10, VARINT):
        hasZ = r.bool();
        break;
      case tag(11, VARINT):
        hasM = r.bool();
        break;
      case tag(12, BYTES):
        readTransform(r, sub(r, end), transform);
        sawTransform = true;
        break;
      case tag(13, BYTES):
        fields.push(readField(r, sub(r, end)));
        break;
      default:
        skipField(r, t);
    }
  }
  closed(r, end);

  let geometryType: EsriGeometryType | undefined;
  if (geometryCode >= 0 && geometryCode !== PBF_GEOMETRY_NONE) {
    if (geometryCode === PBF_GEOMETRY_MULTIPATCH) throw unsupported('multipatch geometries');
    geometryType = PBF_GEOMETRY_TYPES[geometryCode];
    if (geometryType === undefined) throw unsupported(`geometries of an unknown type (${geometryCode})`);
  }
  // no transform at all: coordinates are not quantized (identity, y up)
  if (!sawTransform) transform.lowerLeft = true;
  const ctx = context(fields, geometryCode < 0 ? POINT : geometryCode, hasZ, hasM, transform);
  const features: EsriFeature[] = [];
  for (let i = 0; i < ranges.length; i += 2) {
    r.pos = ranges[i]!;
    features.push(readFeature(r, ranges[i + 1]!, ctx));
  }
  if (geometryType === undefined && ctx.sawGeometry) geometryType = 'esriGeometryPoint';
  const step = (scale: number) => (scale === 0 ? 1 : scale);
  const [sx, sy, sm, sz] = transform.scale;
  return {
    kind: 'features',
    features,
    exceededTransferLimit,
    objectIdFieldName,
    geometryType,
    spatialReference,
    hasZ,
    hasM,
    fields,
    quantization: sawTransform ? { x: step(sx), y: step(sy), z: step(sz), m: step(sm) } : undefined,
  };
}

function readSpatialReference(
  r: ProtoReader,
  end: number,
  previous: SpatialReference | undefined,
): SpatialReference {
  // repeated occurrences of a message field merge (protobuf rules)
  let wkid = previous?.wkid ?? 0;
  let latestWkid = previous?.latestWkid ?? 0;
  let vcsWkid = previous?.vcsWkid ?? 0;
  let latestVcsWkid = previous?.latestVcsWkid ?? 0;
  let wkt = previous?.wkt ?? '';
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, VARINT)) wkid = r.varint();
    else if (t === tag(2, VARINT)) latestWkid = r.varint();
    else if (t === tag(3, VARINT)) vcsWkid = r.varint();
    else if (t === tag(4, VARINT)) latestVcsWkid = r.varint();
    else if (t === tag(5, BYTES)) wkt = r.string();
    else skipField(r, t);
  }
  closed(r, end);
  // proto3 writes no zero and no empty string: those are absent keys in JSON
  const sr: SpatialReference = {};
  if (wkid !== 0) sr.wkid = wkid;
  if (latestWkid !== 0) sr.latestWkid = latestWkid;
  if (vcsWkid !== 0) sr.vcsWkid = vcsWkid;
  if (latestVcsWkid !== 0) sr.latestVcsWkid = latestVcsWkid;
  if (wkt !== '') sr.wkt = wkt;
  return sr;
}

function readField(r: ProtoReader, end: number): PbfField {
  let name = '';
  let code = 0;
  let alias = '';
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, BYTES)) name = r.string();
    else if (t === tag(2, VARINT)) code = r.varint();
    else if (t === tag(3, BYTES)) alias = r.string();
    else skipField(r, t);
  }
  closed(r, end);
  return { name, type: PBF_FIELD_TYPES[code] ?? `esriFieldTypeUnknown${code}`, alias };
}

function readTransform(r: ProtoReader, end: number, transform: Transform): void {
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, VARINT)) transform.lowerLeft = r.varint() === 1;
    else if (t === tag(2, BYTES)) readDoubles(r, sub(r, end), transform.scale);
    else if (t === tag(3, BYTES)) readDoubles(r, sub(r, end), transform.translate);
    else skipField(r, t);
  }
  closed(r, end);
}

/** Scale / Translate: doubles in fields 1 to 4 (x, y, m, z). */
function readDoubles(r: ProtoReader, end: number, into: [number, number, number, number]): void {
  while (r.pos < end) {
    const t = r.varint();
    const field = t >>> 3;
    if ((t & 7) === 1 && field >= 1 && field <= 4) into[field - 1] = r.double();
    else skipField(r, t);
  }
  closed(r, end);
}

/**
 * The (a, b, p) of one dimension: coordinate = (a + q·b) / p. With a scale of 10^-k and a translate
 * with at most k decimals: a = translate·10^k (an integer), b = ±1, p = 10^k, so that the only
 * rounding is that of the final division. Otherwise a = translate, b = ±scale, p = 1 (the plain
 * formula, with the same roundings as translate ± q·scale).
 */
function axis(translate: number, rawScale: number, negate: boolean): [number, number, number] {
  const scale = rawScale === 0 ? 1 : rawScale;
  const sign = negate ? -1 : 1;
  const inverse = 1 / scale;
  const rounded = Math.round(inverse);
  const k = POW10.indexOf(rounded);
  if (k >= 0 && Math.abs(inverse - rounded) <= 1e-9 * rounded) {
    const p = POW10[k]!;
    const a = Math.round(translate * p);
    if (Math.abs(a) < 2 ** 53 && a / p === translate) return [a, sign, p];
  }
  return [translate, sign * scale, 1];
}

function context(
  fields: readonly PbfField[],
  shape: number,
  hasZ: boolean,
  hasM: boolean,
  transform: Transform,
): Context {
  const { scale, translate, lowerLeft } = transform;
  const [ax, bx, px] = axis(translate[0], scale[0], false);
  const [ay, by, py] = axis(translate[1], scale[1], !lowerLeft);
  const [az, bz, pz] = axis(translate[3], scale[3], false);
  const [am, bm, pm] = axis(translate[2], scale[2], false);
  const names = fields.map((f) => f.name);
  return {
    names,
    values: new Array(names.length).fill(null),
    make: attributeMaker(names),
    shape,
    stride: 2 + (hasZ ? 1 : 0) + (hasM ? 1 : 0),
    hasZ,
    hasM,
    mAt: hasM ? (hasZ ? 3 : 2) : -1,
    ax,
    bx,
    px,
    ay,
    by,
    py,
    // the third dimension is z, or m when there is no z
    a3: hasZ ? az : am,
    b3: hasZ ? bz : bm,
    p3: hasZ ? pz : pm,
    a4: am,
    b4: bm,
    p4: pm,
    coords: new Float64Array(256),
    lengths: new Float64Array(16),
    sawGeometry: false,
  };
}

function readFeature(r: ProtoReader, end: number, ctx: Context): EsriFeature {
  const values = ctx.values;
  const count = ctx.names.length;
  let n = 0;
  let geometry: EsriGeometry | null | undefined;
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(1, BYTES)) {
      const valueEnd = sub(r, end);
      if (n === count) throw invalid(`a feature has more attribute values than fields (${count})`);
      values[n++] = readValue(r, valueEnd);
    } else if (t === tag(2, BYTES) && ctx.shape !== PBF_GEOMETRY_NONE) {
      geometry = readGeometry(r, sub(r, end), ctx);
    } else if (t >>> 3 === 3) {
      throw unsupported('a compressed shape buffer (esriShapeBuffer) instead of a geometry');
    } else if (t >>> 3 === 7) {
      throw unsupported('a curve geometry (curveGeometry, true curves) instead of a densified geometry');
    } else skipField(r, t);
  }
  closed(r, end);
  const attributes =
    n === count && ctx.make !== null ? ctx.make(values) : slowAttributes(ctx.names, values, n);
  if (geometry === undefined) return { attributes };
  ctx.sawGeometry = true;
  return { attributes, geometry };
}

/** The attributes of a feature carrying fewer values than fields, or of a field list without a maker. */
function slowAttributes(
  names: readonly string[],
  values: readonly unknown[],
  n: number,
): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const name = names[i]!;
    if (name === '__proto__') {
      // an own property, as JSON.parse makes it (an assignment would set the prototype)
      Object.defineProperty(attributes, name, {
        value: values[i],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else attributes[name] = values[i];
  }
  return attributes;
}

type MakeAttributes = (values: readonly unknown[]) => Record<string, unknown>;

/**
 * A function building the attributes object of a field list with one object literal, keys in
 * field order (core/object-literal.ts). Null (use slowAttributes) for `__proto__` and where code
 * generation is disallowed.
 */
function attributeMaker(names: readonly string[]): MakeAttributes | null {
  return literalMaker(names, 'values');
}

const float32 = new Float32Array(1);

/** A Value message: the last value field present, or null for an empty message. */
function readValue(r: ProtoReader, end: number): unknown {
  let value: unknown = null;
  while (r.pos < end) {
    const t = r.varint();
    switch (t) {
      case tag(1, BYTES):
        value = r.string();
        break;
      case tag(2, 5):
        value = shortestFloat(r.float());
        break;
      case tag(3, 1):
        value = r.double();
        break;
      case tag(4, VARINT):
        value = r.svarint();
        break;
      case tag(5, VARINT):
        value = r.varint();
        break;
      // 64-bit values beyond 2^53 (BigInteger) are kept exact, as bigints
      case tag(6, VARINT):
        value = r.varint64Exact(true);
        break;
      case tag(7, VARINT):
        value = r.varint64Exact(false);
        break;
      case tag(8, VARINT):
        value = r.svarint64Exact();
        break;
      case tag(9, VARINT):
        value = r.bool();
        break;
      default:
        skipField(r, t);
    }
  }
  closed(r, end);
  return value;
}

/**
 * A float32 as the double of its shortest decimal text (what a JSON answer prints for a Single
 * field: 0.1, not 0.10000000149011612). Six significant digits always round-trip a float32, and
 * a shorter decimal that round-trips comes out unchanged from toPrecision(6).
 */
function shortestFloat(f: number): number {
  if (!Number.isFinite(f) || f === 0) return f;
  for (let digits = 6; digits < 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    float32[0] = candidate;
    if (float32[0] === f) return candidate;
  }
  return Number(f.toPrecision(9));
}

function growCoords(ctx: Context, used: number, need: number): Float64Array {
  const next = new Float64Array(Math.max(need, ctx.coords.length * 2));
  next.set(ctx.coords.subarray(0, used));
  ctx.coords = next;
  return next;
}

function growLengths(ctx: Context, used: number, need: number): Float64Array {
  const next = new Float64Array(Math.max(need, ctx.lengths.length * 2));
  next.set(ctx.lengths.subarray(0, used));
  ctx.lengths = next;
  return next;
}

function readGeometry(r: ProtoReader, end: number, ctx: Context): EsriGeometry | null {
  let coords = ctx.coords;
  let lengths = ctx.lengths;
  let nc = 0;
  let nl = 0;
  while (r.pos < end) {
    const t = r.varint();
    if (t === tag(3, BYTES)) {
      const packedEnd = sub(r, end);
      // at least one byte per value: room for them all, checked once
      if (nc + packedEnd - r.pos > coords.length) coords = growCoords(ctx, nc, nc + packedEnd - r.pos);
      while (r.pos < packedEnd) coords[nc++] = r.svarint();
      closed(r, packedEnd);
    } else if (t === tag(2, BYTES)) {
      const packedEnd = sub(r, end);
      if (nl + packedEnd - r.pos > lengths.length) lengths = growLengths(ctx, nl, nl + packedEnd - r.pos);
      while (r.pos < packedEnd) lengths[nl++] = r.varint();
      closed(r, packedEnd);
    } else if (t === tag(3, VARINT)) {
      if (nc === coords.length) coords = growCoords(ctx, nc, nc + 1);
      coords[nc++] = r.svarint();
    } else if (t === tag(2, VARINT)) {
      if (nl === lengths.length) lengths = growLengths(ctx, nl, nl + 1);
      lengths[nl++] = r.varint();
    } else skipField(r, t);
  }
  closed(r, end);
  if (nc === 0) return null;

  const stride = ctx.stride;
  let vertices = 0;
  if (ctx.shape === POINT) {
    if (nc !== stride) throw invalid(`a point geometry has ${nc} coordinates, not ${stride}`);
    return point(coords, ctx);
  }
  if (nl === 0) {
    // lengths may be omitted (points always may): one part
    if (nc % stride !== 0) throw invalid(`a geometry has ${nc} coordinates, not a multiple of ${stride}`);
    vertices = nc / stride;
    lengths[0] = vertices;
    nl = 1;
  } else {
    for (let i = 0; i < nl; i++) vertices += lengths[i]!;
    if (vertices * stride !== nc) {
      throw invalid(`a geometry has ${nc} coordinates for ${vertices} vertices of ${stride} values`);
    }
  }

  switch (ctx.shape) {
    case ENVELOPE:
      return envelope(coords, vertices, ctx);
    case MULTIPOINT: {
      const points: EsriPosition[] = [];
      for (let i = 0, c = 0; i < nl; i++) c = readPart(coords, c, lengths[i]!, ctx, points);
      return { points };
    }
    default: {
      const parts: EsriPosition[][] = [];
      for (let i = 0, c = 0; i < nl; i++) {
        const part: EsriPosition[] = [];
        c = readPart(coords, c, lengths[i]!, ctx, part);
        parts.push(part);
      }
      return ctx.shape === POLYLINE ? { paths: parts } : { rings: parts };
    }
  }
}

function point(coords: Float64Array, ctx: Context): EsriGeometry {
  const x = (ctx.ax + coords[0]! * ctx.bx) / ctx.px;
  const y = (ctx.ay + coords[1]! * ctx.by) / ctx.py;
  if (ctx.stride === 2) return { x, y };
  const q3 = coords[2]!;
  if (ctx.stride === 4) {
    const q4 = coords[3]!;
    return { x, y, z: (ctx.a3 + q3 * ctx.b3) / ctx.p3, m: q4 === 0 ? null : (ctx.a4 + q4 * ctx.b4) / ctx.p4 };
  }
  if (ctx.hasZ) return { x, y, z: (ctx.a3 + q3 * ctx.b3) / ctx.p3 };
  return { x, y, m: q3 === 0 ? null : (ctx.a3 + q3 * ctx.b3) / ctx.p3 };
}

/** An envelope: its two corners as one part of two vertices (min and max in any order). */
function envelope(coords: Float64Array, vertices: number, ctx: Context): EsriGeometry {
  if (vertices !== 2) throw invalid(`an envelope geometry has ${vertices} vertices, not 2`);
  const corners: EsriPosition[] = [];
  readPart(coords, 0, 2, ctx, corners);
  const [a, b] = corners as [EsriPosition, EsriPosition];
  const lo = (i: number) => Math.min(a[i]!, b[i]!);
  const hi = (i: number) => Math.max(a[i]!, b[i]!);
  const out: Record<string, number> = { xmin: lo(0), ymin: lo(1), xmax: hi(0), ymax: hi(1) };
  if (ctx.hasZ) {
    out.zmin = lo(2);
    out.zmax = hi(2);
  }
  if (ctx.mAt >= 0 && a[ctx.mAt] !== null && b[ctx.mAt] !== null) {
    out.mmin = lo(ctx.mAt);
    out.mmax = hi(ctx.mAt);
  }
  return out as unknown as EsriEnvelope;
}

/**
 * Appends the `count` vertices of one part, whose values start at `c` in `coords`, to `out`; returns
 * the index after them. x and y are deltas, restarting at each part; z and m are absolute, a raw m
 * of 0 being null.
 */
function readPart(
  coords: Float64Array,
  start: number,
  count: number,
  ctx: Context,
  out: EsriPosition[],
): number {
  const { ax, bx, px, ay, by, py, stride } = ctx;
  let c = start;
  let qx = 0;
  let qy = 0;
  if (stride === 2) {
    for (let v = 0; v < count; v++, c += 2) {
      qx += coords[c]!;
      qy += coords[c + 1]!;
      out.push([(ax + qx * bx) / px, (ay + qy * by) / py]);
    }
    return c;
  }
  const { a3, b3, p3 } = ctx;
  if (stride === 3) {
    const mOnly = !ctx.hasZ;
    for (let v = 0; v < count; v++, c += 3) {
      qx += coords[c]!;
      qy += coords[c + 1]!;
      const q3 = coords[c + 2]!;
      out.push([(ax + qx * bx) / px, (ay + qy * by) / py, mOnly && q3 === 0 ? null : (a3 + q3 * b3) / p3]);
    }
    return c;
  }
  const { a4, b4, p4 } = ctx;
  for (let v = 0; v < count; v++, c += 4) {
    qx += coords[c]!;
    qy += coords[c + 1]!;
    const q4 = coords[c + 3]!;
    out.push([
      (ax + qx * bx) / px,
      (ay + qy * by) / py,
      (a3 + coords[c + 2]! * b3) / p3,
      q4 === 0 ? null : (a4 + q4 * b4) / p4,
    ]);
  }
  return c;
}
