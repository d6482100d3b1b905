import { access, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isEtlError } from '../../src/core/errors.js';
import { createWriter } from '../../src/features/writers/writer.js';
import { f1, f2, f3, schema, tempDir } from './fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(async () => {
  await tmp.cleanup();
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('atomic output', () => {
  it('writes to a fresh <target>.<random>.partial, mode 0600; the target appears only on finish, normal mode', async () => {
    const path = tmp.file('out.geojson');
    const writer = await createWriter({ format: 'geojson', path, schema });
    const temp = writer.tempPath!;
    expect(basename(temp)).toMatch(/^out\.geojson\.[0-9a-f]{12}\.partial$/);
    const other = await createWriter({ format: 'geojson', path, schema });
    expect(other.tempPath).not.toBe(temp);
    await other.abort();
    await writer.writePage([f1, f2]);
    expect(await exists(path)).toBe(false);
    expect((await stat(temp)).mode & 0o777).toBe(0o600);
    await writer.finish();
    expect(await exists(path)).toBe(true);
    expect(await exists(temp)).toBe(false);
    expect((await stat(path)).mode & 0o777).toBe(0o666 & ~process.umask());
  });

  it('a symlink planted at the old <target>.partial name is never written through', async () => {
    const path = tmp.file('out.geojson');
    const victim = tmp.file('victim.txt');
    await writeFile(victim, 'precious');
    await symlink(victim, `${path}.partial`);
    const writer = await createWriter({ format: 'geojson', path, schema });
    await writer.writePage([f1]);
    await writer.finish();
    expect(await readFile(victim, 'utf8')).toBe('precious');
    expect(JSON.parse(await readFile(path, 'utf8')).features).toHaveLength(1);
    expect((await lstat(`${path}.partial`)).isSymbolicLink()).toBe(true);
  });

  it('a file or symlink planted at the temp name is refused, never followed (create and resume)', async () => {
    const path = tmp.file('out.geojsonl');
    const victim = tmp.file('victim.txt');
    await writeFile(victim, 'precious and long enough to be truncated');
    const planted = tmp.file('planted.partial');
    await symlink(victim, planted);
    await expect(
      createWriter({ format: 'geojsonseq', path, schema, tempPath: planted }),
    ).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
    await expect(
      createWriter({
        format: 'geojsonseq',
        path,
        schema,
        tempPath: planted,
        resume: { bytes: 8, features: 1 },
      }),
    ).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID' });
    expect(await readFile(victim, 'utf8')).toBe('precious and long enough to be truncated');
    expect(await exists(path)).toBe(false);
  });

  it('replaces an existing target only on finish', async () => {
    const path = tmp.file('out.csv');
    await writeFile(path, 'old content');
    const writer = await createWriter({ format: 'csv', path, schema });
    await writer.writePage([f1]);
    expect(await readFile(path, 'utf8')).toBe('old content');
    await writer.finish();
    expect(await readFile(path, 'utf8')).toMatch(/^OBJECTID,NAME/);
  });

  it('abort removes the temp file and never creates the target', async () => {
    const path = tmp.file('out.geojsonl');
    const writer = await createWriter({ format: 'geojsonseq', path, schema });
    await writer.writePage([f1]);
    await writer.abort();
    expect(await readdir(tmp.dir)).toEqual([]);
    await writer.abort(); // idempotent
    await expect(writer.writePage([f2])).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
  });

  it('abort({ keep: true }) keeps the temp file for a resume', async () => {
    const path = tmp.file('out.geojsonl');
    const writer = await createWriter({ format: 'geojsonseq', path, schema });
    await writer.writePage([f1]);
    await writer.abort({ keep: true });
    expect(await readdir(tmp.dir)).toEqual([basename(writer.tempPath!)]);
  });

  it('uses the given temp path', async () => {
    const path = tmp.file('out.geojson');
    const tempPath = tmp.file('work.tmp');
    const writer = await createWriter({ format: 'geojson', path, schema, tempPath });
    await writer.writePage([f3]);
    expect(await readdir(tmp.dir)).toEqual(['work.tmp']);
    await writer.finish();
    expect(await readdir(tmp.dir)).toEqual(['out.geojson']);
  });

  it('a failed run leaves no target, and the error is OUTPUT_ERROR with a cause', async () => {
    const path = tmp.file('out.geojson');
    // the rename fails: the target is a non-empty directory
    await mkdir(path);
    await writeFile(tmp.file('out.geojson/keep'), 'x');
    const writer = await createWriter({ format: 'geojson', path, schema });
    await writer.writePage([f1]);
    const error = await writer.finish().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEtlError(error, 'OUTPUT_ERROR')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect(writer.writePage([f2])).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
    await writer.abort();
    expect((await readdir(tmp.dir)).sort()).toEqual(['out.geojson']);
    expect(await readdir(path)).toEqual(['keep']);
  });

  it('cannot create the temp file in a missing directory: OUTPUT_ERROR', async () => {
    await expect(
      createWriter({ format: 'csv', path: tmp.file('missing/out.csv'), schema }),
    ).rejects.toMatchObject({
      code: 'OUTPUT_ERROR',
    });
  });

  it('serialises concurrent writePage calls in call order', async () => {
    const path = tmp.file('out.geojsonl');
    const writer = await createWriter({ format: 'geojsonseq', path, schema });
    await Promise.all([writer.writePage([f1]), writer.writePage([f2]), writer.writePage([f3])]);
    await writer.finish();
    const ids = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    expect(ids).toEqual([1, 2, 3]);
  });

  it('a page that cannot be encoded is OUTPUT_ERROR and leaves the writer usable', async () => {
    const path = tmp.file('out.geojsonl');
    const writer = await createWriter({ format: 'geojsonseq', path, schema });
    // a circular value (a bigint is written as its digits since BigInteger values are kept exact)
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad = { ...f1, properties: { big: circular } };
    await expect(writer.writePage([bad])).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
    await writer.writePage([f2]);
    await writer.finish();
    expect(await readFile(path, 'utf8')).toBe(`${JSON.stringify(f2)}\n`);
  });
});
