/**
 * `--attachments DIR`: every attachment of the layer's features (matching the where clause),
 * downloaded with the token, at most as many at once as the host's concurrency allows, each file
 * streamed to a temp name (hashed while it streams: memory stays flat) and renamed when whole (its
 * size checked against the server's), with a manifest (`manifest.json`: OID, id, name, content
 * type, size, sha256, path). A rerun skips the files already there with the listed size (and,
 * when the manifest has it, the same sha256).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArcGISClient } from '../../client/arcgis-client.js';
import { EtlError } from '../../core/errors.js';
import type { FileBody } from '../../http/types.js';
import { normalizeLayerUrl } from '../metadata.js';
import { orderedPool } from '../ordered-pool.js';
import { objectIdsWhere, syncCapabilities } from '../sync/tracking.js';
import { attachmentRelativePath, insideDir } from './names.js';

export const MANIFEST_NAME = 'manifest.json';
/** OIDs per queryAttachments request. */
const QUERY_BATCH = 200;

export interface AttachmentEntry {
  oid: number;
  id: number;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Relative to the folder, `/`-separated. */
  path: string;
}

export interface AttachmentOptions {
  client: ArcGISClient;
  layerUrl: string;
  dir: string;
  where?: string | undefined;
  /** Pins the downloads at once (default: the host's adaptive limit). */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface AttachmentStats {
  attachments: number;
  downloaded: number;
  skipped: number;
  bytes: number;
  /** `queryAttachments`, or one `attachments` request per feature. */
  listing: 'queryAttachments' | 'perFeature';
  manifest: string;
}

interface Listed {
  oid: number;
  id: number;
  name: string;
  contentType: string;
  size: number;
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

function parseInfo(oid: number, info: unknown): Listed {
  const i = (info ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(i.id) || typeof i.name !== 'string') {
    throw new EtlError('INVALID_RESPONSE', `An attachmentInfo of feature ${oid} has no id or name`);
  }
  return {
    oid,
    id: i.id as number,
    name: i.name,
    contentType: typeof i.contentType === 'string' ? i.contentType : 'application/octet-stream',
    size: typeof i.size === 'number' ? i.size : -1,
  };
}

async function readManifest(path: string): Promise<Map<string, AttachmentEntry>> {
  try {
    const list = JSON.parse(await readFile(path, 'utf8')) as AttachmentEntry[];
    return new Map(Array.isArray(list) ? list.map((e) => [`${e.oid}/${e.id}`, e]) : []);
  } catch {
    return new Map();
  }
}

/** The sha256 of a file, read as a stream (flat memory). */
async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function downloadAttachments(options: AttachmentOptions): Promise<AttachmentStats> {
  const { client, signal } = options;
  const layerUrl = normalizeLayerUrl(options.layerUrl);
  const meta = await client.request<Record<string, unknown>>(layerUrl, {}, signalOf(signal));
  const caps = syncCapabilities(meta);
  if (!caps.attachments) {
    throw new EtlError(
      'USAGE',
      `--attachments: the layer ${layerUrl} has no attachments (hasAttachments is not true)`,
    );
  }
  const where = options.where?.trim() || '1=1';
  const oids = await objectIdsWhere(client, layerUrl, where, signal);
  const limit = options.concurrency ?? client.transport.concurrency?.for(layerUrl) ?? 4;

  // the list of attachments
  const listed: Listed[] = [];
  if (caps.queryAttachments) {
    const batches: number[][] = [];
    for (let i = 0; i < oids.length; i += QUERY_BATCH)
      batches.push(Array.from(oids.subarray(i, i + QUERY_BATCH)));
    const answers = orderedPool(
      batches,
      (batch, s) =>
        client.request<{ attachmentGroups?: { parentObjectId?: number; attachmentInfos?: unknown[] }[] }>(
          `${layerUrl}/queryAttachments`,
          { objectIds: batch.join(','), returnMetadata: false },
          { signal: s },
        ),
      { concurrency: limit, signal },
    );
    for await (const answer of answers) {
      for (const group of answer.attachmentGroups ?? []) {
        const oid = group.parentObjectId;
        if (!Number.isSafeInteger(oid))
          throw new EtlError('INVALID_RESPONSE', 'queryAttachments answered a group without parentObjectId');
        for (const info of group.attachmentInfos ?? []) listed.push(parseInfo(oid as number, info));
      }
    }
  } else {
    const answers = orderedPool(
      oids,
      async (oid, s) => {
        const body = await client.request<{ attachmentInfos?: unknown[] }>(
          `${layerUrl}/${oid}/attachments`,
          {},
          { signal: s },
        );
        return (body.attachmentInfos ?? []).map((info) => parseInfo(oid, info));
      },
      { concurrency: limit, signal },
    );
    for await (const list of answers) listed.push(...list);
  }
  listed.sort((a, b) => a.oid - b.oid || a.id - b.id);

  // the downloads (each file once), skipping what a previous run left complete
  await mkdir(options.dir, { recursive: true });
  const manifestPath = join(options.dir, MANIFEST_NAME);
  const previous = await readManifest(manifestPath);
  let downloaded = 0;
  let skipped = 0;
  let bytes = 0;
  const entries: AttachmentEntry[] = [];
  const seen = new Set<string>();
  const unique = listed.filter((a) => {
    const key = `${a.oid}/${a.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const results = orderedPool(
    unique,
    async (a, s): Promise<AttachmentEntry> => {
      const rel = attachmentRelativePath(a.oid, a.id, a.name);
      const target = insideDir(options.dir, rel);
      const known = previous.get(`${a.oid}/${a.id}`);
      const onDisk = await stat(target).catch(() => undefined);
      if (onDisk?.isFile() && (a.size < 0 || onDisk.size === a.size)) {
        const sha256 = await sha256File(target);
        if (!known || (known.sha256 === sha256 && known.size === onDisk.size)) {
          skipped++;
          return { ...a, size: onDisk.size, sha256, path: rel };
        }
      }
      await mkdir(dirname(target), { recursive: true });
      // streamed to a temp file beside the target, hashed on the way, renamed when whole
      const temp = `${target}.${randomBytes(4).toString('hex')}.part`;
      let file: FileBody;
      try {
        file = (
          await client.send<FileBody>(
            `${layerUrl}/${a.oid}/attachments/${a.id}`,
            {},
            { method: 'GET', responseType: 'file', toFile: temp, signal: s },
          )
        ).body;
        if (a.size >= 0 && file.bytes !== a.size) {
          throw new EtlError(
            'TRUNCATED_RESPONSE',
            `Attachment ${a.id} of feature ${a.oid}: ${file.bytes} bytes downloaded, the server lists ${a.size}`,
          );
        }
        await rename(temp, target);
      } catch (cause) {
        await rm(temp, { force: true });
        if (cause instanceof EtlError) throw cause;
        throw new EtlError('OUTPUT_ERROR', `Cannot write the attachment ${target}`, { cause });
      }
      downloaded++;
      bytes += file.bytes;
      return { ...a, size: file.bytes, sha256: file.sha256, path: rel };
    },
    { concurrency: limit, signal },
  );
  for await (const entry of results) entries.push(entry);

  const temp = `${manifestPath}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(entries, null, 1)}\n`, { flag: 'wx' });
  await rename(temp, manifestPath);
  return {
    attachments: entries.length,
    downloaded,
    skipped,
    bytes,
    listing: caps.queryAttachments ? 'queryAttachments' : 'perFeature',
    manifest: manifestPath,
  };
}
