/**
 * `loadPipeline(text, fileName)`: the YAML parsed with the position of every node, validated
 * against the JSON Schema, the defaults applied. Every error is one line:
 * `<file>:<line>:<col>: <what is wrong>` (EtlError USAGE).
 */
import { createHash } from 'node:crypto';
import { basename, dirname, extname, resolve } from 'node:path';
import type { ErrorObject } from 'ajv/dist/2020.js';
import type * as Yaml from 'yaml';
import { EtlError } from '../core/errors.js';
import { requireOnUse } from '../core/lazy-require.js';
import { pipelineOptionNames, validatePipelineData } from './schema.js';
import type { HostBudget, Pipeline, PipelineCredential, PipelineSource } from './types.js';

type Positions = Pipeline['positions'];

/** The YAML parser, loaded when a pipeline is read (not at the CLI's start). */
const yaml = (): typeof Yaml => requireOnUse('yaml');

const SECRET_KEYS = new Set(['password', 'token', 'api-key', 'client-secret']);

/** `file:line:col: message` as a USAGE error. */
export function pipelineError(
  file: string,
  at: { line: number; col: number } | undefined,
  message: string,
  code: 'USAGE' | 'MISSING_CREDENTIALS' = 'USAGE',
): EtlError {
  const where = at ? `${file}:${at.line}:${at.col}` : file;
  return new EtlError(code, `${where}: ${message}`);
}

/** The position of a pointer, or of its nearest ancestor that has one. */
export function positionOf(positions: Positions, pointer: string): { line: number; col: number } | undefined {
  for (let p = pointer; ; p = p.slice(0, p.lastIndexOf('/'))) {
    const at = positions[p];
    if (at) return at;
    if (p === '') return undefined;
  }
}

/** `/sources/0/where` → `sources[0].where` (how errors name a place). */
export function describePointer(pointer: string): string {
  if (pointer === '') return 'the file';
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Records the line and column of every key and value, by JSON pointer (a key: `<pointer>#key`). */
function collectPositions(
  node: Yaml.Node | null | undefined,
  pointer: string,
  lines: Yaml.LineCounter,
  out: Positions,
) {
  if (!node) return;
  const at = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset));
  const start = at(node.range?.[0]);
  if (start) out[pointer] = start;
  if (yaml().isMap(node)) {
    for (const pair of node.items) {
      if (!yaml().isPair(pair)) continue;
      const key = yaml().isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const child = `${pointer}/${escapePointer(key)}`;
      const keyAt = at((pair.key as Yaml.Node | null)?.range?.[0]);
      if (keyAt) out[`${child}#key`] = keyAt;
      if (pair.value) collectPositions(pair.value as Yaml.Node, child, lines, out);
      else if (keyAt) out[child] = keyAt;
    }
  } else if (yaml().isSeq(node)) {
    node.items.forEach((item, i) => {
      collectPositions(item as Yaml.Node, `${pointer}/${i}`, lines, out);
    });
  }
}

/** The pipeline id: the file's name without extension, and 8 hex of the SHA-256 of its text. */
export function pipelineId(text: string, fileName: string): string {
  const stem = basename(fileName, extname(fileName)).replace(/[^A-Za-z0-9_.-]+/g, '_') || 'pipeline';
  return `${stem}-${createHash('sha256').update(text).digest('hex').slice(0, 8)}`;
}

export function loadPipeline(text: string, fileName: string): Pipeline {
  const lines = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0] ?? lines.linePos(syntax.pos[0]);
    const message = syntax.message.split('\n')[0] ?? 'invalid YAML';
    throw pipelineError(fileName, pos, `invalid YAML: ${message.replace(/ at line \d+, column \d+:?$/, '')}`);
  }
  const positions: Positions = {};
  collectPositions(doc.contents as Yaml.Node | null, '', lines, positions);
  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw pipelineError(fileName, positions[''], 'a pipeline file is a mapping with version: 1 and sources');
  }
  const errors = validatePipelineData(data);
  const first = pickError(errors);
  if (first) throw schemaError(first, data, fileName, positions);
  return build(data as RawPipeline, text, fileName, positions);
}

interface RawEntry extends Record<string, unknown> {
  output?: string;
  credentials?: string;
}
interface RawPipeline {
  version: 1;
  credentials?: Record<string, PipelineCredential>;
  defaults?: RawEntry;
  hosts?: Record<string, HostBudget>;
  sources: Array<RawEntry & { url: string }>;
}

function build(raw: RawPipeline, text: string, file: string, positions: Positions): Pipeline {
  const credentials = raw.credentials ?? {};
  const defaults = raw.defaults ?? {};
  const { output: defaultOutput, credentials: defaultCredentials, ...defaultOptions } = defaults;
  const fail = (pointer: string, message: string) =>
    pipelineError(file, positionOf(positions, pointer), message);
  if (defaultCredentials !== undefined && !Object.hasOwn(credentials, defaultCredentials)) {
    throw fail('/defaults/credentials', unknownCredential(defaultCredentials, credentials));
  }
  for (const host of Object.keys(raw.hosts ?? {})) {
    if (host !== '*' && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) {
      throw pipelineError(
        file,
        positions[`/hosts/${escapePointer(host)}#key`],
        `hosts: "${host}" is not a host name (give the name, name:port, or "*")`,
      );
    }
  }
  const sources: PipelineSource[] = raw.sources.map((source, index) => {
    const { url, output, credentials: named, ...options } = source;
    const credential = named ?? defaultCredentials;
    if (named !== undefined && !Object.hasOwn(credentials, named)) {
      throw fail(`/sources/${index}/credentials`, unknownCredential(named, credentials));
    }
    const out = output ?? defaultOutput;
    if (out === undefined) {
      throw fail(`/sources/${index}`, `sources[${index}] has no output (give output here or in defaults)`);
    }
    if (out === '-') {
      throw fail(
        `/sources/${index}/output`,
        'a pipeline writes files or PostGIS tables, not standard output',
      );
    }
    return {
      index,
      url,
      output: out,
      ...(credential === undefined ? {} : { credentials: credential }),
      options: { ...defaultOptions, ...options },
    };
  });
  return {
    version: 1,
    id: pipelineId(text, file),
    file,
    baseDir: dirname(resolve(file)),
    credentials,
    hosts: raw.hosts ?? {},
    sources,
    positions,
  };
}

function unknownCredential(name: string, credentials: Record<string, unknown>): string {
  const known = Object.keys(credentials);
  return `no credential named "${name}" (${known.length === 0 ? 'the file defines none' : `defined: ${known.join(', ')}`})`;
}

/** The error worth showing: the deepest, and a composition's own only when nothing says more. */
function pickError(errors: ErrorObject[]): ErrorObject | undefined {
  const depth = (e: ErrorObject) => e.instancePath.split('/').length;
  const specific = errors.filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf');
  const pool = specific.length > 0 ? specific : errors;
  // an unknown key first: it is often the required one misspelt
  const unknown = (e: ErrorObject) =>
    e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties' ? 0 : 1;
  return [...pool].sort((a, b) => depth(b) - depth(a) || unknown(a) - unknown(b))[0];
}

function valueAt(data: unknown, pointer: string): unknown {
  let value = data;
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

function schemaError(error: ErrorObject, data: unknown, file: string, positions: Positions): EtlError {
  const path = error.instancePath;
  const place = describePointer(path);
  const last = path.slice(path.lastIndexOf('/') + 1);
  const at = (pointer: string) => positionOf(positions, pointer);
  switch (error.keyword) {
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key = String(error.params.additionalProperty ?? error.params.unevaluatedProperty);
      const pointer = `${path}/${escapePointer(key)}`;
      return pipelineError(
        file,
        positions[`${pointer}#key`] ?? at(pointer),
        `unknown key "${key}" in ${place}${hint(key, path)}`,
      );
    }
    case 'required':
      return pipelineError(file, at(path), `${place} is missing "${String(error.params.missingProperty)}"`);
    case 'const':
      return pipelineError(file, at(path), `${place} must be ${JSON.stringify(error.params.allowedValue)}`);
    case 'enum':
      return pipelineError(
        file,
        at(path),
        `${place} must be one of ${(error.params.allowedValues as unknown[]).map(String).join(', ')} (got ${JSON.stringify(valueAt(data, path))})`,
      );
    default:
      break;
  }
  if (SECRET_KEYS.has(last) && path.startsWith('/credentials/') && typeof valueAt(data, path) === 'string') {
    return pipelineError(
      file,
      at(path),
      `${place}: secrets are never written in the file: give { env: VARIABLE } or { command: "…" }`,
    );
  }
  return pipelineError(file, at(path), `${place} ${error.message ?? 'is invalid'}`);
}

/** A close known key, for a misspelt one. */
function hint(key: string, path: string): string {
  const known = knownKeys(path);
  const close = known.find((k) => distance(k, key) <= Math.max(1, Math.floor(k.length / 4)));
  return close ? ` (did you mean "${close}"?)` : '';
}

function knownKeys(path: string): string[] {
  if (path === '') return ['version', 'credentials', 'defaults', 'hosts', 'sources'];
  if (path === '/defaults' || /^\/sources\/\d+$/.test(path)) {
    return ['url', 'output', 'credentials', ...pipelineOptionNames()];
  }
  return [];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
