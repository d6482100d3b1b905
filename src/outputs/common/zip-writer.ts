/**
 * A zip of entries whose data is raw deflate (method 8) made beforehand: copies of files deflated
 * while they were written (deflated-copy.ts), and small files deflated here. Written in one pass,
 * with ZIP64 records where a size or an offset passes 4 GiB, UTF-8 names, a fixed time (the same
 * data gives the same zip) and Unix modes; fsynced.
 *
 * Why not a zip library: the ones made for writing (yazl, archiver, fflate) deflate the data
 * themselves, one entry after the other, once the files are complete; none takes data compressed
 * already with its CRC (and fflate writes no ZIP64).
 */
import { Buffer } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { crc32, deflateRawSync } from 'node:zlib';
import { DEFLATE_LEVEL } from './deflated-copy.js';
import { outputError } from './temp-dir.js';

export interface ZipEntry {
  name: string;
  /** The raw deflate data, in order: bytes, or temp files holding them. */
  data: readonly (Uint8Array | { path: string })[];
  crc32: number;
  size: number;
  compressedSize: number;
}

export interface ZipOptions {
  /** Mode of the zip file and of its entries (Unix). */
  mode: number;
  /** ZIP64 records even where no size or offset needs them (tests). */
  forceZip64?: boolean;
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const DEFLATE = 8;
const UTF8_NAMES = 0x0800;
/** 1980-01-01 00:00, the first time a zip can hold. */
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1;

/** A small file as an entry, deflated now. */
export function deflatedEntry(name: string, bytes: Uint8Array): ZipEntry {
  const data = deflateRawSync(bytes, { level: DEFLATE_LEVEL });
  return { name, data: [data], crc32: crc32(bytes), size: bytes.length, compressedSize: data.length };
}

interface Written {
  entry: ZipEntry;
  name: Buffer;
  offset: number;
}

export async function writeZip(
  output: string,
  entries: readonly ZipEntry[],
  options: ZipOptions,
): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(output, 'wx', options.mode);
  } catch (cause) {
    throw outputError(`Cannot create ${output}`, cause);
  }
  try {
    let offset = 0;
    const put = async (bytes: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, offset + done);
        done += bytesWritten;
      }
      offset += bytes.length;
    };
    const force = options.forceZip64 === true;
    const written: Written[] = [];
    for (const entry of entries) {
      const name = Buffer.from(entry.name, 'utf8');
      written.push({ entry, name, offset });
      await put(localHeader(entry, name, force));
      let copied = 0;
      for (const part of entry.data) {
        if (part instanceof Uint8Array) {
          await put(part);
          copied += part.length;
          continue;
        }
        for await (const chunk of createReadStream(part.path, { highWaterMark: 1 << 20 })) {
          await put(chunk as Buffer);
          copied += (chunk as Buffer).length;
        }
      }
      if (copied !== entry.compressedSize) {
        throw new Error(`${entry.name}: ${copied} compressed bytes, ${entry.compressedSize} expected`);
      }
    }
    const directoryAt = offset;
    for (const w of written) await put(centralHeader(w, options.mode, force));
    await put(endRecords(written.length, offset - directoryAt, directoryAt, offset, force));
    await handle.sync();
  } catch (cause) {
    throw outputError(`Cannot write ${output}`, cause);
  } finally {
    await handle.close();
  }
}

function needs64(entry: ZipEntry, force: boolean): boolean {
  return force || entry.size >= MAX32 || entry.compressedSize >= MAX32;
}

/** The ZIP64 extra field holding `values` (none: no field). */
function zip64Extra(values: readonly number[]): Buffer {
  if (values.length === 0) return Buffer.alloc(0);
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  for (const [i, value] of values.entries()) extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i);
  return extra;
}

/**
 * The fields a local and a central header share, "version needed" to "extra field length", from
 * `at`; a size that does not fit (`big`) is 0xFFFFFFFF there and in the ZIP64 extra.
 */
function sharedFields(
  h: Buffer,
  at: number,
  entry: ZipEntry,
  name: Buffer,
  extra: Buffer,
  big: boolean[],
): void {
  const [size64, compressed64] = big;
  h.writeUInt16LE(extra.length > 0 ? 45 : 20, at); // version needed
  h.writeUInt16LE(UTF8_NAMES, at + 2);
  h.writeUInt16LE(DEFLATE, at + 4);
  h.writeUInt16LE(DOS_TIME, at + 6);
  h.writeUInt16LE(DOS_DATE, at + 8);
  h.writeUInt32LE(entry.crc32 >>> 0, at + 10);
  h.writeUInt32LE(compressed64 ? MAX32 : entry.compressedSize, at + 14);
  h.writeUInt32LE(size64 ? MAX32 : entry.size, at + 18);
  h.writeUInt16LE(name.length, at + 22);
  h.writeUInt16LE(extra.length, at + 24);
}

function localHeader(entry: ZipEntry, name: Buffer, force: boolean): Buffer {
  // a local ZIP64 extra holds both sizes
  const zip64 = needs64(entry, force);
  const extra = zip64Extra(zip64 ? [entry.size, entry.compressedSize] : []);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  sharedFields(h, 4, entry, name, extra, [zip64, zip64]);
  return Buffer.concat([h, name, extra]);
}

function centralHeader({ entry, name, offset }: Written, mode: number, force: boolean): Buffer {
  // a central ZIP64 extra holds only the fields that do not fit, in this order
  const big = [
    force || entry.size >= MAX32,
    force || entry.compressedSize >= MAX32,
    force || offset >= MAX32,
  ];
  const extra = zip64Extra([entry.size, entry.compressedSize, offset].filter((_, i) => big[i]));
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE((3 << 8) | 45, 4); // made by: Unix, 4.5
  sharedFields(h, 6, entry, name, extra, big);
  // comment length, disk number, internal attributes: 0
  h.writeUInt32LE(((0o100000 | (mode & 0o777)) << 16) >>> 0, 38); // a regular file and its mode
  h.writeUInt32LE(big[2] ? MAX32 : offset, 42);
  return Buffer.concat([h, name, extra]);
}

function endRecords(count: number, size: number, at: number, end: number, force: boolean): Buffer {
  const zip64 = force || count >= MAX16 || size >= MAX32 || at >= MAX32;
  const parts: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4); // the size of the rest of the record
    record.writeUInt16LE((3 << 8) | 45, 12);
    record.writeUInt16LE(45, 14);
    // this disk, the directory's disk: 0
    record.writeBigUInt64LE(BigInt(count), 24);
    record.writeBigUInt64LE(BigInt(count), 32);
    record.writeBigUInt64LE(BigInt(size), 40);
    record.writeBigUInt64LE(BigInt(at), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(end), 8); // where the ZIP64 end record starts
    locator.writeUInt32LE(1, 16); // disks in all
    parts.push(record, locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? MAX16 : count, 8);
  eocd.writeUInt16LE(zip64 ? MAX16 : count, 10);
  eocd.writeUInt32LE(zip64 ? MAX32 : size, 12);
  eocd.writeUInt32LE(zip64 ? MAX32 : at, 16);
  parts.push(eocd);
  return Buffer.concat(parts);
}
