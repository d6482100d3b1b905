import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { EtlEvent } from '../../src/core/events.js';
import type { TokenRecord } from '../../src/stores/types.js';

export function makeRecord(token: string, now: number, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    token,
    expiresAt: now + 3_600_000,
    issuedAt: now,
    tokenUrl: 'https://gis.example.com/portal/sharing/rest/generateToken',
    scope: 'https://gis.example.com',
    username: 'etl-user',
    client: 'referer',
    referer: 'https://etl.example.com',
    kind: 'generateToken',
    ...overrides,
  };
}

export interface EventLog {
  events: EtlEvent[];
  emit: (event: EtlEvent) => void;
  warnings: () => string[];
}

export function eventLog(): EventLog {
  const events: EtlEvent[] = [];
  return {
    events,
    emit: (event) => {
      events.push(event);
    },
    warnings: () => events.flatMap((e) => (e.type === 'warning' ? [e.message] : [])),
  };
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'arcgis-etl-stores-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Lets real I/O progress until the code under test is parked in a fake sleep (bounded). */
export async function untilSleeping(time: { pendingSleeps: number }, count = 1): Promise<void> {
  const giveUpAt = Date.now() + 10_000;
  while (time.pendingSleeps < count && Date.now() < giveUpAt) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (time.pendingSleeps < count) throw new Error('the code under test never slept');
}
