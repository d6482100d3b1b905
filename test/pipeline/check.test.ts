/**
 * Pipeline files that are wrong: one clear line `file:line:col: …`, before any request. And
 * `run --check`: validates only.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/types.js';
import { runInProcess } from '../cli/in-process.js';
import { startSecured, tempDir, USER } from '../extract/helpers.js';

let emu: EmulatorHandle;
let tmp: Awaited<ReturnType<typeof tempDir>>;
const env = { ARCGIS_USERNAME: USER.username, ARCGIS_PASSWORD: USER.password };

beforeAll(async () => {
  emu = await startSecured({
    layers: [{ service: 'Pts', generate: { count: 30, geometry: 'point', seed: 1 }, maxRecordCount: 10 }],
  });
  tmp = await tempDir('arcgis-etl-pipeline-check-');
});
afterAll(async () => {
  await emu.stop();
  await tmp.remove();
});

const head = `version: 1
credentials:
  main: { username: { env: ARCGIS_USERNAME }, password: { env: ARCGIS_PASSWORD } }
defaults: { credentials: main, format: geojsonseq }
hosts: { "*": { concurrency: 4 } }
sources:
`;

/** Runs `run [--check] file` on this text: the exit code and the last stderr line; no request made. */
async function refused(
  name: string,
  text: string,
  options: { check?: boolean; env?: Record<string, string> } = {},
) {
  const file = tmp.path(name);
  await writeFile(file, text);
  emu.resetStats();
  const r = await runInProcess(['run', file, ...(options.check ? ['--check'] : [])], {
    env: options.env ?? env,
    cwd: tmp.dir,
  });
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(emu.stats().requests).toEqual({});
  return { code: r.code, line: lines[0]! };
}

describe('pipeline file errors: one line with the position', () => {
  it('an unknown key (with the key it resembles)', async () => {
    const text = `${head}  - url: ${emu.layerUrl('Pts')}\n    output: out/{layer}.geojsonl\n    wher: "1=1"\n`;
    const r = await refused('unknown.yaml', text);
    expect(r.code).toBe(2);
    expect(r.line).toBe(
      `error [USAGE]: ${tmp.path('unknown.yaml')}:9:5: unknown key "wher" in sources[0] (did you mean "where"?)`,
    );
    // at the top level too
    const top = await refused('top.yaml', `version: 1\nsorces: []\n`);
    expect(top.line).toMatch(/top\.yaml:2:1: unknown key "sorces" in the file \(did you mean "sources"\?\)$/);
  });

  it('a missing url', async () => {
    const text = `${head}  - url: ${emu.layerUrl('Pts')}\n    output: a.geojsonl\n  - output: b.geojsonl\n    where: "x > 1"\n`;
    const r = await refused('nourl.yaml', text);
    expect(r.code).toBe(2);
    expect(r.line).toMatch(/nourl\.yaml:9:5: sources\[1\] is missing "url"$/);
  });

  it('a credential whose environment variable is not set, and a credential name not defined', async () => {
    const text = `${head}  - url: ${emu.layerUrl('Pts')}\n    output: a.geojsonl\n`;
    const r = await refused('noenv.yaml', text, { env: { ARCGIS_USERNAME: USER.username } });
    expect(r.code).toBe(3);
    expect(r.line).toBe(
      `error [MISSING_CREDENTIALS]: ${tmp.path('noenv.yaml')}:3:64: credential "main": password comes from the environment variable ARCGIS_PASSWORD, which is not set`,
    );
    const named = await refused(
      'noname.yaml',
      `${head}  - url: ${emu.layerUrl('Pts')}\n    output: a.geojsonl\n    credentials: mian\n`,
    );
    expect(named.code).toBe(2);
    expect(named.line).toMatch(/noname\.yaml:9:18: no credential named "mian" \(defined: main\)$/);
  });

  it('a secret written in the file, a bad value, YAML syntax, and an option export refuses', async () => {
    const secret = await refused(
      'secret.yaml',
      `version: 1\ncredentials:\n  main: { username: me, password: hunter2 }\nsources:\n  - { url: ${emu.layerUrl('Pts')}, output: a.csv, credentials: main }\n`,
    );
    expect(secret.line).toMatch(
      /secret\.yaml:3:35: credentials\.main\.password: secrets are never written in the file: give \{ env: VARIABLE \} or \{ command: "…" \}$/,
    );
    expect(secret.line).not.toContain('hunter2');
    const format = await refused(
      'format.yaml',
      `${head}  - url: ${emu.layerUrl('Pts')}\n    output: a\n    format: kml\n`,
    );
    expect(format.line).toMatch(
      /format\.yaml:9:13: sources\[0\]\.format must be one of geojson, .* \(got "kml"\)$/,
    );
    const yaml = await refused('syntax.yaml', `${head}  - url: [unclosed\n`);
    expect(yaml.line).toMatch(/syntax\.yaml:\d+:\d+: invalid YAML: /);
    const resume = await refused(
      'resume.yaml',
      `${head}  - url: ${emu.layerUrl('Pts')}\n    output: a.shp\n    format: shapefile\n    resume: true\n`,
      { check: true },
    );
    expect(resume.code).toBe(2);
    expect(resume.line).toMatch(/resume\.yaml:7:5: sources\[0\]: --resume is not available for shapefile/);
  });

  it('two layers into one output', async () => {
    const service = emu.layerUrl('Pts').replace(/\/0$/, '');
    const text = `${head}  - url: ${emu.layerUrl('Pts')}\n    output: same.geojsonl\n  - url: ${service}\n    output: same.geojsonl\n`;
    const file = tmp.path('same.yaml');
    await writeFile(file, text);
    const r = await runInProcess(['run', file], { env });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /same\.yaml:10:13: jobs 0-0 and 1-0 would both write .*same\.geojsonl \(use \{layer\} or \{name\} in output\)$/,
    );
  });
});

describe('run --check', () => {
  it('validates the file and says so, without a request or an output', async () => {
    const file = tmp.path('good.yaml');
    await writeFile(
      file,
      `${head}  - url: ${emu.layerUrl('Pts')}\n    output: out/{service}-{layer}.geojsonl\n`,
    );
    emu.resetStats();
    const r = await runInProcess(['run', file, '--check'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim()).toMatch(
      /good\.yaml: ok · pipeline good-[0-9a-f]{8} · 1 sources · credentials main$/,
    );
    expect(emu.stats().requests).toEqual({});
  });

  it('--help documents run and its options', async () => {
    const r = await runInProcess(['run', '--help']);
    expect(r.code).toBe(0);
    for (const option of [
      '--check',
      '--stats-json',
      '--layers-at-once',
      '--token-cache',
      'pipeline.schema.json',
    ]) {
      expect(r.stdout).toContain(option);
    }
  });
});
