/**
 * `{origin}/__emulator/…`: read counters and steer the emulator from another process.
 */
import { jsonReply, type Reply } from './reply.js';
import type { EmuRequest } from './request.js';
import type { EmulatorHandle, FaultOptions } from './types.js';

export const CONTROL_PREFIX = '/__emulator/';

type Control = Pick<EmulatorHandle, 'stats' | 'resetStats' | 'revokeAll' | 'setClockOffset'> & {
  setFaults(faults: FaultOptions, seed?: number): void;
};

export function controlRoute(control: Control, req: EmuRequest): Reply {
  const action = req.path.slice(CONTROL_PREFIX.length);
  if (action === 'stats' && req.method === 'GET') return jsonReply(control.stats());
  if (req.method !== 'POST')
    return jsonReply({ error: `Unknown control ${req.method} ${action}` }, false, 404);
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = req.rawBody.trim() === '' ? {} : JSON.parse(req.rawBody);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    body = parsed as Record<string, unknown>;
  } catch {
    return jsonReply({ error: 'The body must be a JSON object' }, false, 400);
  }
  switch (action) {
    case 'revoke-all':
      control.revokeAll();
      return jsonReply({ ok: true });
    case 'reset-stats':
      control.resetStats();
      return jsonReply({ ok: true });
    case 'faults': {
      const { seed, ...faults } = body;
      control.setFaults(faults as FaultOptions, typeof seed === 'number' ? seed : undefined);
      return jsonReply({ ok: true });
    }
    case 'clock-offset': {
      const ms = body.ms ?? body.offsetMs ?? body.clockOffsetMs;
      if (typeof ms !== 'number' || !Number.isFinite(ms)) {
        return jsonReply({ error: 'Expected {"ms": <number>}' }, false, 400);
      }
      control.setClockOffset(ms);
      return jsonReply({ ok: true });
    }
    default:
      return jsonReply({ error: `Unknown control POST ${action}` }, false, 404);
  }
}
