/**
 * URLs of the emulator's FeatureServers, each path segment of the service name encoded.
 */
import type { EmuRequest } from './request.js';
import type { EmulatorState } from './state.js';

export function encodeService(service: string): string {
  return service.split('/').map(encodeURIComponent).join('/');
}

/** `{origin}{prefix}/rest/services/{service}/FeatureServer` as the request reached the server. */
export function featureServerUrl(state: EmulatorState, req: EmuRequest, service: string): string {
  return `${req.origin}${state.options.prefix}/rest/services/${encodeService(service)}/FeatureServer`;
}
