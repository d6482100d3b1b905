/**
 * One layer (or one OID-range shard of it) exported to a given file: what a worker runs for a
 * job. The connection (client, token manager on the fleet's shared Redis token store, leased
 * transport) comes from the worker, one per server and credential.
 */
import type { ArcGISClient } from '../client/arcgis-client.js';
import type { Credentials } from '../client/connect.js';
import { EtlError } from '../core/errors.js';
import { exportLayer } from '../features/export.js';
import { formatForOutput } from '../features/writers/formats.js';
import type { FleetLayerJob } from './job-data.js';

export interface LayerRunContext {
  client: ArcGISClient;
  signal?: AbortSignal | undefined;
  onProgress?: ((features: number, total: number) => void) | undefined;
}

/** The layer's output format: its `format` option, else the output's extension. */
export function formatOfJob(job: FleetLayerJob): string {
  const explicit = job.options.format;
  return formatForOutput(job.output, typeof explicit === 'string' ? explicit : undefined);
}

export async function runLayerExport(
  job: FleetLayerJob,
  output: string,
  where: string | undefined,
  ctx: LayerRunContext,
): Promise<{ features: number }> {
  const o = job.options;
  const stats = await exportLayer({
    client: ctx.client,
    layerUrl: job.url,
    output,
    format: formatOfJob(job) as Parameters<typeof exportLayer>[0]['format'],
    where: where ?? stringOption(o.where),
    fields: stringList(o.fields),
    outSR: numberOption(o.outSR ?? o['out-sr']),
    pageSize: numberOption(o.pageSize ?? o['page-size']),
    signal: ctx.signal,
    onProgress: (p) => ctx.onProgress?.(p.features, p.total),
  });
  return { features: stats.features };
}

/**
 * A pipeline credential definition (`{ username: { env }, password: { env | command } }`,
 * `{ token: { env } }`, `{ apiKey: { env } }`) resolved from this process's environment.
 */
export function credentialsFrom(
  name: string,
  definition: unknown,
  env: NodeJS.ProcessEnv = process.env,
): Credentials {
  const def = (definition ?? {}) as Record<string, unknown>;
  const read = (key: string): string | undefined => {
    const ref = def[key];
    if (ref === undefined) return undefined;
    const variable = (ref as { env?: unknown }).env;
    if (typeof variable !== 'string') {
      throw new EtlError('USAGE', `Credential "${name}": ${key} must be given as { env: VARIABLE }`);
    }
    const value = env[variable];
    if (!value) {
      throw new EtlError('MISSING_CREDENTIALS', `Credential "${name}": ${variable} is not set (${key})`);
    }
    return value;
  };
  const token = read('token');
  if (token) return { token };
  const apiKey = read('apiKey');
  if (apiKey) return { apiKey };
  const username = read('username');
  const password = read('password');
  if (username && password) return { username, password };
  throw new EtlError(
    'MISSING_CREDENTIALS',
    `Credential "${name}" names no username and password, token or apiKey`,
  );
}

function stringOption(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function numberOption(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function stringList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  return typeof value === 'string' ? value.split(',').map((s) => s.trim()) : undefined;
}
