/**
 * A throwaway PostgreSQL cluster of our own (never the shared one), for the tests that stop the
 * server: initdb + postgres on a free port in a temp folder, from PostgreSQL 15's bin folder.
 * initdb and postgres refuse to run as root: as root they run as the `postgres` OS user (setpriv).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../stores/redis-server.js';
import { type ServerAddress, serverReachable } from './helpers.js';

export const PG_BIN = process.env.PG_BINDIR || '/usr/lib/postgresql/15/bin';

function postgresUser(): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

const isRoot = userInfo().uid === 0;

/** Whether a cluster can be started here (the binaries, and a non-root user to run them). */
export function ownClusterPossible(): boolean {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'postgres'))) return false;
  return !isRoot || (postgresUser() !== undefined && spawnSync('setpriv', ['--version']).status === 0);
}

/** The command, as the postgres OS user when we are root. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (!isRoot) return [command, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args]];
}

export class OwnCluster {
  #child: ChildProcess | undefined;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get data(): string {
    return join(this.dir, 'data');
  }

  get address(): ServerAddress {
    return { host: '127.0.0.1', port: this.port, user: 'postgres' };
  }

  static async create(): Promise<OwnCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'arcgis-etl-pg-'));
    const owner = isRoot ? postgresUser() : undefined;
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const cluster = new OwnCluster(dir, await freePort());
    const [cmd, args] = asServerUser(join(PG_BIN, 'initdb'), [
      '-D',
      cluster.data,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr}`);
    return cluster;
  }

  /** Starts the server (again, after a stop: crash recovery runs) and waits until it answers. */
  async start(): Promise<void> {
    const [cmd, args] = asServerUser(join(PG_BIN, 'postgres'), [
      '-D',
      this.data,
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'shared_buffers=16MB',
    ]);
    const child = spawn(cmd, args, { stdio: 'ignore' });
    this.#child = child;
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}`);
      if (await serverReachable(this.address)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('postgres did not start');
  }

  /** The postmaster's PID, from its postmaster.pid. */
  pid(): number {
    return Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  }

  /**
   * Stops the server by its PID: SIGQUIT is PostgreSQL's immediate shutdown (every backend ends
   * at once, no checkpoint; the next start recovers as after a crash).
   */
  async stopByPid(signal: NodeJS.Signals = 'SIGQUIT'): Promise<void> {
    const child = this.#child;
    process.kill(this.pid(), signal);
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => child.once('exit', resolve));
    }
    this.#child = undefined;
  }

  async destroy(): Promise<void> {
    if (this.#child && this.#child.exitCode === null) {
      try {
        await this.stopByPid('SIGINT');
      } catch {
        // already gone
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
