/**
 * A pipeline file (version 1), as loaded and validated, and the jobs it expands into: one per layer
 * of each source.
 */

/** Where a secret comes from: an environment variable, or a command whose output it is. Never the file. */
export type SecretRef = { env: string } | { command: string };

/** A named credential of the pipeline (`credentials: { main: {…} }`), by the keys of the file. */
export interface PipelineCredential {
  /** Not a secret: a value, or a reference. */
  username?: string | SecretRef | undefined;
  password?: SecretRef | undefined;
  /** A static token (`ARCGIS_TOKEN`'s counterpart). */
  token?: SecretRef | undefined;
  'api-key'?: SecretRef | undefined;
  'client-id'?: string | SecretRef | undefined;
  'client-secret'?: SecretRef | undefined;
  /** The connection options of `export` that go with a credential. */
  portal?: string | undefined;
  'token-url'?: string | undefined;
  referer?: string | undefined;
  client?: 'requestip' | 'referer' | 'ip' | undefined;
  expiration?: number | undefined;
  'token-in'?: 'body' | 'header' | 'query' | undefined;
}

/** The request budget of a host (`hosts: { "*": { concurrency: 8 } }`). */
export interface HostBudget {
  /** At most this many queries at once to the host, for the whole pipeline (adaptive below it). */
  concurrency: number;
}

/** One entry of `sources`, with the defaults applied. */
export interface PipelineSource {
  /** Its index in `sources` (jobs and errors name it). */
  index: number;
  /** A layer URL (…/FeatureServer/<id>) or a whole service (…/FeatureServer, …/MapServer). */
  url: string;
  /** A file path template ({service}, {layer}, {name}, {date}), or a postgresql:// URL. */
  output: string;
  /** A name in the pipeline's `credentials` (none: public services). */
  credentials?: string | undefined;
  /** The options of `export` by their long name (where, fields, bbox, format, since, state, …). */
  options: Record<string, unknown>;
}

export interface Pipeline {
  version: 1;
  /** The pipeline id: the file's name and a short hash of its content (`nightly-3fa2b1c0`). */
  id: string;
  /** The file it was read from, as given. */
  file: string;
  /** Relative output paths (and option files) resolve against this folder: the file's own. */
  baseDir: string;
  credentials: Record<string, PipelineCredential>;
  hosts: Record<string, HostBudget>;
  sources: PipelineSource[];
  /** Line and column (1-based) of each node, by its JSON pointer (`/sources/0/url`). */
  positions: Record<string, { line: number; col: number }>;
}

/** One layer of one source (shards are the fleet's business). Plain data: it goes through a queue. */
export interface PipelineJob {
  /** The pipeline id. */
  pipeline: string;
  /** Stable within the pipeline: `${sourceIndex}-${layerId}`. */
  id: string;
  /** The layer URL. */
  url: string;
  /** The resolved output: an absolute file path, or the postgresql:// URL (templates filled). */
  output: string;
  /** A name in the pipeline's credentials map. */
  credentials?: string | undefined;
  /** The options of `export` by their long name, as in the YAML (paths resolved). */
  options: Record<string, unknown>;
  /** For progress lines and stats: the service, the layer id and name. */
  service: string;
  layerId: number;
  name: string;
}
