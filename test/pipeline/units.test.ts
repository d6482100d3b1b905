/**
 * The parts of a pipeline on their own: the schema's options are `export`'s flags, a job's options
 * become the same ExportOptions as the flags would, templates, the pipeline id, secrets from a
 * command, and the per-host gate.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/commands/export.js';
import type { HttpResponse, Transport } from '../../src/http/types.js';
import { hostBudget } from '../../src/pipeline/connections.js';
import { credentialConnectOptions } from '../../src/pipeline/credentials.js';
import { layerExportPlan } from '../../src/pipeline/export-flags.js';
import { gatedTransport } from '../../src/pipeline/host-gate.js';
import { loadPipeline, pipelineId } from '../../src/pipeline/load.js';
import { fillTemplate, serviceNameOf } from '../../src/pipeline/plan.js';
import { jobExportPlan, jobFlags } from '../../src/pipeline/run-job.js';
import { pipelineOptionNames, pipelineSchema } from '../../src/pipeline/schema.js';

const LAYER = 'https://gis.example.com/arcgis/rest/services/Parcels/FeatureServer/3';

describe('the options of a source are the flags of export', () => {
  it('every schema option is a long flag of export; the flags left out are the pipeline-wide ones', () => {
    const io = {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      stdin: new PassThrough(),
      env: {},
      cwd: '/',
    };
    const flags = exportCommand(io, () => {})
      .options.map((o) => o.long?.replace(/^--/, ''))
      .filter((f): f is string => f !== undefined);
    const options = pipelineOptionNames();
    // `fgb-index: false` is --no-fgb-index
    const flagOf = (name: string) => (flags.includes(name) ? name : `no-${name}`);
    for (const name of options) expect(flags, name).toContain(flagOf(name));
    const left = flags.filter((f) => !options.map(flagOf).includes(f)).sort();
    expect(left).toEqual(
      [
        // the output and the credentials' connection options have their own keys
        'output',
        'portal',
        'token-url',
        'client',
        'referer',
        'expiration',
        'token-in',
        'timeout',
        'token-cache',
        'password-stdin',
        'password-command',
        'log-file',
        'quiet',
        'verbose',
        // the host budget replaces these; run has its own --stats-json
        'concurrency',
        'max-concurrency',
        'stats-json',
      ].sort(),
    );
  });

  it('a job gives exportLayer what `export` gives it for the same flags', async () => {
    const options = {
      where: "STATUS = 'A'",
      fields: ['OBJECTID', 'STATUS'],
      'out-sr': 3857,
      strategy: 'ids',
      'page-size': 50,
      'no-geometry': true,
      domains: 'both',
      'csv-excel-safe': true,
      format: 'csv',
    };
    const job = { url: LAYER, output: '/data/out/parcels.csv', options };
    const fromJob = await jobExportPlan(job);
    const { flags } = jobFlags(job);
    const cli = await layerExportPlan(
      LAYER,
      {
        ...flags,
        where: "STATUS = 'A'",
        fields: 'OBJECTID,STATUS',
        outSr: 3857,
        output: '/data/out/parcels.csv',
      },
      (name) => ['where', 'fields', 'outSr', 'strategy', 'pageSize', 'noGeometry', 'domains'].includes(name),
      { cwd: '/', readInput: async () => '' },
    );
    expect(fromJob.options).toEqual(cli.options);
    expect(fromJob.options).toMatchObject({
      where: "STATUS = 'A'",
      fields: ['OBJECTID', 'STATUS'],
      outSR: 3857,
      strategy: 'ids',
      pageSize: 50,
      geometry: { returnGeometry: false },
      domains: 'both',
      csvExcelSafe: true,
      format: 'csv',
      queryFormat: 'auto',
    });
    // --max-concurrency only when given: else the transport's bound holds (a worker's own
    // --max-concurrency), where the flag's default (16) used to override it
    expect(fromJob.options.maxConcurrency).toBeUndefined();
    const bounded = await jobExportPlan({
      url: LAYER,
      output: '/x.geojson',
      options: { 'max-concurrency': 4 },
    });
    expect(bounded.options.maxConcurrency).toBe(4);
    // a bbox list is the flag's text
    const bbox = await jobExportPlan({ url: LAYER, output: '/x.geojson', options: { bbox: [1, 2, 3, 4] } });
    expect(bbox.options.filter?.describe).toMatch(/1,2,3,4|box/);
  });

  it('what export refuses, a job refuses with the same message', async () => {
    await expect(
      jobExportPlan({ url: LAYER, output: '/x.shp', options: { resume: true, format: 'shapefile' } }),
    ).rejects.toThrow(/--resume is not available for shapefile/);
    await expect(
      jobExportPlan({ url: LAYER, output: '/x.geojson', options: { merge: '/prev.geojson' } }),
    ).rejects.toThrow('--merge and --deletes need --state or --since');
  });
});

describe('templates and ids', () => {
  it('fills {service}, {layer}, {name} (file-safe) and {date}', () => {
    expect(
      fillTemplate('out/{date}/{service}-{layer}-{name}.gpkg', {
        service: 'Parcels',
        layer: 3,
        name: 'Lots: 2024/25',
        date: '2026-12-06',
      }),
    ).toBe('out/2026-12-06/Parcels-3-Lots_2024_25.gpkg');
    expect(serviceNameOf(LAYER)).toBe('Parcels');
    expect(serviceNameOf('https://h/arcgis/rest/services/Folder/Svc/MapServer')).toBe('Folder_Svc');
  });

  it('the pipeline id is the file name and a hash of the content', () => {
    expect(pipelineId('version: 1', 'conf/nightly.yaml')).toMatch(/^nightly-[0-9a-f]{8}$/);
    expect(pipelineId('version: 1', 'nightly.yaml')).toBe(pipelineId('version: 1', 'other/nightly.yml'));
    expect(pipelineId('version: 1 ', 'nightly.yaml')).not.toBe(pipelineId('version: 1', 'nightly.yaml'));
  });

  it('the schema is the published file', async () => {
    const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as {
      exports: Record<string, unknown>;
      files: string[];
    };
    expect(pkg.exports['./pipeline.schema.json']).toBe('./dist/pipeline/pipeline.schema.json');
    expect(pkg.files).toContain('dist');
    expect(pipelineSchema().$id).toBe('urn:arcgis-etl:pipeline:1');
  });
});

describe('credentials', () => {
  const text = `version: 1
credentials:
  vault:
    username: svc-etl
    password: { command: "pass show arcgis" }
  key: { api-key: { env: MY_KEY }, referer: https://app.example.com }
sources:
  - { url: ${LAYER}, output: a.geojson, credentials: vault }
  - { url: ${LAYER}, output: b.geojson, credentials: key }
`;
  it('a password command runs once, when the first token is asked for; env values are read, never the file', async () => {
    const pipeline = loadPipeline(text, 'p.yaml');
    const calls: string[] = [];
    const context = {
      env: { MY_KEY: 'k-123' },
      runCommand: async (command: string) => {
        calls.push(command);
        return 's3cret\n';
      },
    };
    const vault = await credentialConnectOptions(pipeline, 'vault', context);
    expect(calls).toEqual([]);
    const credentials = vault.credentials as { username: string; password: () => Promise<string> };
    expect(credentials.username).toBe('svc-etl');
    expect(await credentials.password()).toBe('s3cret');
    expect(await credentials.password()).toBe('s3cret');
    expect(calls).toEqual(['pass show arcgis']);
    const key = await credentialConnectOptions(pipeline, 'key', context);
    expect(key).toEqual({
      credentials: { apiKey: 'k-123' },
      referer: 'https://app.example.com',
      client: 'referer',
    });
  });
});

describe('host budgets', () => {
  it('host:port, then the host name, then "*"; none without an entry', () => {
    const hosts = {
      '*': { concurrency: 8 },
      'gis.example.com': { concurrency: 4 },
      'gis.example.com:6443': { concurrency: 2 },
    };
    expect(hostBudget(hosts, 'https://gis.example.com:6443/arcgis/rest/services/A/FeatureServer/0')).toEqual({
      concurrency: 2,
    });
    expect(hostBudget(hosts, 'https://gis.example.com/arcgis/rest/services/A/FeatureServer/0')).toEqual({
      concurrency: 4,
    });
    expect(hostBudget(hosts, 'https://other.example.org/x/FeatureServer/0')).toEqual({ concurrency: 8 });
    expect(hostBudget({}, 'https://other.example.org/x/FeatureServer/0')).toBeUndefined();
  });
});

describe('the host gate', () => {
  it('holds the requests to a host with a budget to it, first come first served; others are not held', async () => {
    let inFlight = 0;
    let peak = 0;
    const order: string[] = [];
    const releases: Array<() => void> = [];
    const inner: Transport = {
      request: async <T>(url: string) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        order.push(url);
        await new Promise<void>((resolve) => releases.push(resolve));
        inFlight--;
        return { status: 200, body: {} } as unknown as HttpResponse<T>;
      },
      stats: {} as Transport['stats'],
      close: async () => {},
    };
    const gated = gatedTransport(inner, (url) => (url.includes('budget') ? 2 : undefined));
    const all = [1, 2, 3, 4, 5].map((i) => gated.request(`https://budget.example/${i}`));
    const free = [1, 2, 3].map((i) => gated.request(`https://free.example/${i}`));
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([
      'https://budget.example/1',
      'https://budget.example/2',
      'https://free.example/1',
      'https://free.example/2',
      'https://free.example/3',
    ]);
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all([...all, ...free]);
    expect(order.filter((u) => u.includes('budget'))).toEqual(
      [1, 2, 3, 4, 5].map((i) => `https://budget.example/${i}`),
    );
    // 2 on the budgeted host + 3 on the free one at most
    expect(peak).toBe(5);
  });

  it('a request waiting for its turn can be aborted', async () => {
    const releases: Array<() => void> = [];
    const inner: Transport = {
      request: async <T>() => {
        await new Promise<void>((resolve) => releases.push(resolve));
        return {} as HttpResponse<T>;
      },
      stats: {} as Transport['stats'],
      close: async () => {},
    };
    const gated = gatedTransport(inner, () => 1);
    const first = gated.request('https://h.example/1');
    const abort = new AbortController();
    const second = gated.request('https://h.example/2', { signal: abort.signal });
    abort.abort(new Error('stop'));
    await expect(second).rejects.toThrow('stop');
    releases.shift()!();
    await first;
    // the slot is free again
    const third = gated.request('https://h.example/3');
    await new Promise((r) => setImmediate(r));
    expect(releases).toHaveLength(1);
    releases.shift()!();
    await third;
  });
});
