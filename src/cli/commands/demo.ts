/**
 * `arcgis-etl demo`: the whole job end to end, offline. Starts the emulator in-process with a secured
 * layer of polygons (holes and multipart among them), exports it with a progress bar to
 * ./demo-output/, and shows what happened, token refreshes included.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { connect } from '../../client/connect.js';
import { registerSecret } from '../../core/redact.js';
import { type Runtime, systemClock } from '../../core/time.js';
import { exportLayer } from '../../features/export.js';
import { cliEmitter, toPositiveInt, verbosityOf } from '../connection.js';
import { formatInt } from '../format.js';
import { type CliIo, lineWriter } from '../io.js';
import { createProgress } from '../progress.js';
import { summaryLine } from './export.js';

interface DemoFlags {
  count: number;
  tokenSeconds: number;
  dir: string;
  quiet?: boolean;
  verbose?: boolean;
}

export function demoCommand(
  io: CliIo,
  run: (task: Promise<number>) => void,
  runtime?: Partial<Runtime>,
): Command {
  return new Command('demo')
    .description('export a secured sample layer from the built-in emulator to ./demo-output/')
    .option('--count <n>', 'features in the sample layer', toPositiveInt, 200_000)
    .option('--token-seconds <n>', 'token lifetime on the emulator, to show refreshes', toPositiveInt, 4)
    .option('--dir <dir>', 'output folder', 'demo-output')
    .option('-q, --quiet', 'print nothing but errors')
    .option('-v, --verbose', 'print every retry and cache event')
    .action((flags: DemoFlags) => run(runDemo(flags, io, runtime)));
}

async function runDemo(flags: DemoFlags, io: CliIo, runtime?: Partial<Runtime>): Promise<number> {
  const verbosity = verbosityOf(flags);
  const say = verbosity === 'quiet' ? () => {} : lineWriter(io.stderr);
  const username = 'demo';
  const password = randomBytes(12).toString('base64url');
  registerSecret(password);
  say(`Starting the ArcGIS REST emulator with a secured layer of ${formatInt(flags.count)} polygons…`);
  const { startEmulator } = await import('../../emulator/index.js'); // loaded on use
  const emulator = await startEmulator({
    users: [{ username, password }],
    tokenLifetimeSeconds: flags.tokenSeconds,
    layers: [
      {
        service: 'Parcels',
        name: 'Parcels',
        generate: { count: flags.count, geometry: 'mixed-polygon', seed: 7 },
        maxRecordCount: 2000,
      },
    ],
  });
  const layerUrl = emulator.layerUrl('Parcels', 0);
  const outDir = resolve(io.cwd, flags.dir);
  const output = join(outDir, 'parcels.geojsonseq');
  try {
    await mkdir(outDir, { recursive: true });
    say(`  layer      ${layerUrl}`);
    say(
      `  token URL  ${emulator.tokenUrl} (tokens live ${flags.tokenSeconds} s here, so you will see refreshes)`,
    );
    say(`Exporting to ${relative(io.cwd, output) || output} …`);
    const progress = createProgress({
      stream: io.stderr,
      mode: verbosity === 'quiet' ? 'quiet' : 'auto',
      clock: runtime?.clock ?? systemClock,
    });
    const emit = cliEmitter(io, verbosity, () => progress.done());
    const connection = await connect({
      url: layerUrl,
      credentials: { username, password },
      emit,
      ...(runtime ? { runtime } : {}),
    });
    try {
      const stats = await exportLayer({
        client: connection.client,
        layerUrl,
        output,
        format: 'geojsonseq',
        overwrite: true, // the demo's own sample output: every run replaces it
        onProgress: (p) => progress.update(p),
        ...(runtime ? { runtime } : {}),
      });
      progress.done();
      const served = emulator.stats();
      const source = emulator.layer('Parcels', 0).count;
      say(summaryLine(stats, relative(io.cwd, output) || output));
      say(
        `Emulator: ${formatInt(served.tokens)} tokens issued, ${formatInt(served.requests.query ?? 0)} queries served; ` +
          `source ${formatInt(source)} features, written ${formatInt(stats.features)} ` +
          `(${stats.features === source ? 'every feature exactly once' : 'MISMATCH'}).`,
      );
      say(
        'Next: arcgis-etl export --help, or arcgis-etl emulator to serve layers for your own pipeline tests.',
      );
      return stats.features === source ? 0 : 5;
    } finally {
      await connection.close();
    }
  } finally {
    await emulator.stop();
  }
}
