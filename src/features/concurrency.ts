/**
 * The concurrency of an extraction: a pinned number, or the adaptive controller of the layer's
 * host (shared by every extraction of that host through one client).
 */
import type { ArcGISClient } from '../client/arcgis-client.js';
import {
  type ConcurrencyController,
  type ConcurrencyStats,
  DEFAULT_MAX_CONCURRENCY,
} from '../http/concurrency.js';

/** Pages at once when the transport has no adaptive controller and nothing is pinned. */
export const DEFAULT_CONCURRENCY = 4;

export interface ConcurrencyChoice {
  /** Pins the number of pages fetched at once (default: adaptive). */
  concurrency?: number | undefined;
  /** Upper bound of the adaptive concurrency (default 16). */
  maxConcurrency?: number | undefined;
}

export function extractionConcurrency(
  client: ArcGISClient,
  layerUrl: string,
  choice: ConcurrencyChoice,
): number | ConcurrencyController {
  const hosts = client.transport.concurrency;
  const pinned = choice.concurrency === undefined ? undefined : Math.max(1, Math.floor(choice.concurrency));
  if (!hosts) return pinned ?? DEFAULT_CONCURRENCY;
  // the host's controller exists either way: it counts throttling and spreads Retry-After pauses
  const controller = hosts.for(layerUrl, { pinned, max: choice.maxConcurrency });
  return pinned ?? controller;
}

/** The most requests of one extraction in flight or waiting for their turn at once. */
export function waitersAtMost(choice: ConcurrencyChoice): number {
  const n = choice.concurrency ?? choice.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  const bound = Number.isFinite(n) ? Math.max(1, Math.floor(n)) : DEFAULT_MAX_CONCURRENCY;
  // adaptive: the pool's spare task too (poolConcurrency)
  return choice.concurrency === undefined ? bound + 1 : bound;
}

/** The concurrency figures of the layer's host, when it has a controller. */
export function concurrencyStats(client: ArcGISClient, layerUrl: string): ConcurrencyStats | undefined {
  return client.transport.concurrency?.peek(layerUrl)?.snapshot();
}

/**
 * The ordered pool's limit for an extraction. Under the host's adaptive limit, every query takes a
 * slot of its own for its request only, and gives it back when its answer is in: one task more than
 * the limit waits for that slot, so that the server is asked again while the client decodes the
 * answer. A pinned number is the pool's own limit.
 */
export function poolConcurrency(concurrency: number | ConcurrencyController): {
  concurrency: number | ConcurrencyController;
  spare?: number;
} {
  return typeof concurrency === 'number' ? { concurrency } : { concurrency, spare: 1 };
}
