/** Where encoded bytes go: a temp file renamed on finish, or a stream. */
export interface OutputSink {
  write(chunk: Buffer): Promise<void>;
  /** Flushes and publishes the output (fsync + rename for files). */
  finish(): Promise<void>;
  /** Stops; a file sink removes its temp file unless `keep`. Never throws. */
  abort(keep: boolean): Promise<void>;
}
