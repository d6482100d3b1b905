/**
 * `arcgis-etl info <layer-or-service-url>`: what a layer or service holds, and how it can be paged.
 */
import { Command } from 'commander';
import type { ArcGISClient } from '../../client/arcgis-client.js';
import type { Runtime } from '../../core/time.js';
import { fetchLayerInfo, normalizeLayerUrl } from '../../features/metadata.js';
import { fetchServiceInfo, isServiceUrl } from '../../features/service.js';
import {
  addConnectionOptions,
  type ConnectionFlags,
  cliEmitter,
  openConnection,
  verbosityOf,
} from '../connection.js';
import { formatInt } from '../format.js';
import { type CliIo, lineWriter } from '../io.js';

interface InfoFlags extends ConnectionFlags {
  json?: boolean;
}

export function infoCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  const command = new Command('info')
    .description('describe a layer (fields, count, paging support) or list the layers of a service')
    .argument('<url>', 'a layer URL (…/FeatureServer/0) or a service URL (…/FeatureServer)')
    .option('--json', 'print JSON');
  addConnectionOptions(command);
  command.action((url: string, flags: InfoFlags) => run(runInfo(url, flags, io, runtime)));
  return command;
}

const LAYER_URL = /\/(FeatureServer|MapServer)\/\d+\/?$/i;

async function runInfo(
  url: string,
  flags: InfoFlags,
  io: CliIo,
  runtime?: Partial<Runtime>,
): Promise<number> {
  const emit = cliEmitter(io, flags.json ? 'quiet' : verbosityOf(flags), undefined, flags.logFile);
  const { connection } = await openConnection(url, flags, io, emit, runtime);
  const print = lineWriter(io.stdout);
  try {
    const target = normalizeLayerUrl(url);
    if (LAYER_URL.test(target)) {
      const info = await describeLayer(connection.client, target);
      if (flags.json) print(JSON.stringify(info, null, 2));
      else printLayer(print, info);
    } else if (isServiceUrl(target)) {
      const info = await describeService(connection.client, target);
      if (flags.json) print(JSON.stringify(info, null, 2));
      else printService(print, info);
    } else {
      const service = await connection.client.request<Record<string, unknown>>(target);
      const layers = [...asArray(service.layers), ...asArray(service.tables)].map((l) => ({
        id: l.id,
        name: l.name,
        type: l.type ?? (l.geometryType ? 'Feature Layer' : 'Table'),
        geometryType: l.geometryType,
        url: `${target}/${String(l.id)}`,
      }));
      const services = asArray(service.services).map((s) => ({ name: s.name, type: s.type }));
      if (flags.json)
        print(JSON.stringify({ url: target, layers, services, folders: service.folders ?? [] }, null, 2));
      else {
        print(`Service  ${target}`);
        for (const l of layers)
          print(
            `  layer ${String(l.id)}  ${String(l.name)}  (${String(l.geometryType ?? l.type)})  ${l.url}`,
          );
        for (const s of services) print(`  service ${String(s.name)}  (${String(s.type)})`);
      }
    }
    return 0;
  } finally {
    await connection.close();
  }
}

function asArray(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
}

async function describeLayer(client: ArcGISClient, url: string) {
  const info = await fetchLayerInfo(client, url);
  const count = await info.count();
  return {
    url: info.url,
    name: info.name,
    geometryType: info.geometryType,
    hasZ: info.hasZ,
    hasM: info.hasM,
    objectIdField: info.oidField,
    count,
    maxRecordCount: info.maxRecordCount,
    supportsPagination: info.supportsPagination,
    supportsStatistics: info.supportsStatistics,
    supportedQueryFormats: info.supportedQueryFormats,
    spatialReference: info.spatialReference,
    extent: info.extent,
    fields: info.fields.map((f) => ({ name: f.name, type: f.type, ...(f.alias ? { alias: f.alias } : {}) })),
  };
}

function printLayer(print: (line: string) => void, info: Awaited<ReturnType<typeof describeLayer>>): void {
  print(`Layer       ${info.name ?? '(unnamed)'}  ${info.url}`);
  print(`Geometry    ${info.geometryType ?? 'none (table)'}${info.hasZ ? ' Z' : ''}${info.hasM ? ' M' : ''}`);
  print(`Features    ${formatInt(info.count)}  (OID field ${info.objectIdField})`);
  print(
    `Paging      maxRecordCount ${info.maxRecordCount}, pagination ${info.supportsPagination ? 'yes' : 'no'}, statistics ${info.supportsStatistics ? 'yes' : 'no'}`,
  );
  print(`Formats     ${info.supportedQueryFormats.join(', ')}`);
  print('Fields');
  for (const f of info.fields) print(`  ${f.name.padEnd(24)} ${String(f.type).replace('esriFieldType', '')}`);
}

/** A FeatureServer/MapServer: its layers and tables with their counts, and the capabilities. */
async function describeService(client: ArcGISClient, url: string) {
  const service = await fetchServiceInfo(client, url);
  const layers = [];
  for (const l of service.layers) {
    const count = l.skip === undefined ? await (await fetchLayerInfo(client, l.url)).count() : undefined;
    layers.push({
      id: l.id,
      name: l.name,
      type: l.type,
      table: l.table,
      ...(l.geometryType ? { geometryType: l.geometryType } : {}),
      ...(count === undefined ? {} : { count }),
      ...(l.skip === undefined ? {} : { skipped: l.skip }),
      url: l.url,
    });
  }
  return {
    url: service.url,
    kind: service.kind,
    capabilities: service.capabilities,
    maxRecordCount: service.maxRecordCount,
    layers,
  };
}

function printService(
  print: (line: string) => void,
  info: Awaited<ReturnType<typeof describeService>>,
): void {
  print(`Service       ${info.url}`);
  print(`Capabilities  ${info.capabilities ?? '(not listed)'}`);
  for (const l of info.layers) {
    const what = l.table ? 'table' : 'layer';
    const shape = l.table ? '' : ` ${String(l.geometryType ?? l.type).replace('esriGeometry', '')}`;
    const count = l.count === undefined ? `skipped: ${l.skipped}` : `${formatInt(l.count)} features`;
    print(`  ${what} ${l.id}  ${l.name}  (${shape.trim() || l.type})  ${count}  ${l.url}`);
  }
}
