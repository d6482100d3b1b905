/** What a FlatGeobuf export can be told (`CreateWriterOptions.flatgeobuf`). */
export interface FlatGeobufOptions {
  /** Write the packed Hilbert R-tree spatial index (default true). */
  index?: boolean | undefined;
}
