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
  return Number.isFinite(n) ? Math.max(1, Math.floor(n)) : DEFAULT_MAX_CONCURRENCY;
}

/** The concurrency figures of the layer's host, when it has a controller. */
export function concurrencyStats(client: ArcGISClient, layerUrl: string): ConcurrencyStats | undefined {
  return client.transport.concurrency?.peek(layerUrl)?.snapshot();
}
