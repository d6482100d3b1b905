import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenAuth } from './koop-token-auth.mjs';

export interface SourceFeature {
  type: 'Feature';
  geometry: { type: string; coordinates: unknown } | null;
  properties: Record<string, unknown>;
}

/** A field of the provider's metadata (Koop's type names). */
export interface KoopFieldSpec {
  name: string;
  type: 'Integer' | 'Double' | 'String' | 'Date';
  alias?: string;
}

export interface KoopLayerSpec {
  /** File name (without .geojson) and service name in the URL. */
  name: string;
  features: readonly SourceFeature[];
  /** Advertised as the layer's maxRecordCount (Koop's default: 2000; Koop does not enforce it). */
  maxRecordCount?: number;
  fields?: readonly KoopFieldSpec[];
}

/** Runs before Koop sees a request; resolves true when it answered the request itself. */
export type KoopHook = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface KoopStats {
  /** Every HTTP request. */
  requests: number;
  /** Requests to a layer's `/query`. */
  queries: number;
  /** Requests to `/rest/generateToken`. */
  tokens: number;
}

export interface KoopHandle {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The GeoServices REST root: `…/file-geojson/rest`. */
  restUrl: string;
  /** The generateToken endpoint Koop advertises in rest/info. */
  tokenUrl: string;
  layerUrl(name: string): string;
  credentials: { username: string; password: string };
  auth: TokenAuth;
  stats(): KoopStats;
  resetStats(): void;
  setHook(hook: KoopHook | undefined): void;
  stop(): Promise<void>;
}

export function startKoop(options: {
  layers: readonly KoopLayerSpec[];
  username?: string;
  password?: string;
}): Promise<KoopHandle>;
