/**
 * Answers shared by the job routes: a planned fault, a job's file.
 */
import type { Reply } from '../reply.js';
import type { EmulatorState } from '../state.js';
import type { JobFault, JobFile } from './registry.js';

export function faultReply(state: EmulatorState, fault: JobFault): Reply {
  state.stats.fault(fault);
  return (
    state.faults.replacement(fault) ?? { status: 503, contentType: 'text/plain', body: 'Service Unavailable' }
  );
}

export function fileReply(file: JobFile): Reply {
  return {
    status: 200,
    contentType: file.contentType,
    body: file.bytes,
    headers: { 'Content-Disposition': `attachment; filename="${file.fileName}"` },
  };
}
