// The part of yazl's API used here (yazl ships no types).
declare module 'yazl' {
  import type { Readable } from 'node:stream';

  interface AddOptions {
    mtime?: Date;
    mode?: number;
    compress?: boolean;
    compressionLevel?: number;
  }
  class ZipFile {
    outputStream: Readable;
    addFile(realPath: string, metadataPath: string, options?: AddOptions): void;
    end(): void;
  }
  const yazl: { ZipFile: typeof ZipFile };
  export default yazl;
}
