/**
 * Writes the server's file as downloaded (`--keep-download`, or a format we cannot read), through
 * a temp file renamed into place: never half-written. An existing file is refused unless `overwrite`.
 */
import { constants } from 'node:fs';
import { access, copyFile, rename, rm, writeFile } from 'node:fs/promises';
import { EtlError } from '../../core/errors.js';
import { randomTempPath } from '../writers/file-sink.js';
import type { Download } from './parse.js';

export async function keepFile(path: string, download: Download, overwrite: boolean): Promise<string> {
  if (!overwrite && (await exists(path))) {
    throw new EtlError('USAGE', `${path} exists: the downloaded file would replace it (use --overwrite)`);
  }
  const temp = randomTempPath(path);
  try {
    if (download.kind === 'file') await copyFile(download.path, temp, constants.COPYFILE_EXCL);
    else
      await writeFile(
        temp,
        download.kind === 'binary' ? download.value : Buffer.from(JSON.stringify(download.value)),
        { flag: 'wx' },
      );
    await rename(temp, path);
  } catch (cause) {
    await rm(temp, { force: true }).catch(() => {});
    throw new EtlError('OUTPUT_ERROR', `Cannot write the downloaded file to ${path}`, { cause });
  }
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
