import { expect } from 'vitest';
import {
  type EmulatedLayer,
  EmulatorQueryError,
  type QueryAnswer,
  type QueryFaults,
  type QueryParams,
} from '../../src/emulator/types.js';

export interface EsriPage {
  objectIdFieldName: string;
  geometryType: string;
  spatialReference: { wkid: number; latestWkid?: number };
  hasZ?: boolean;
  hasM?: boolean;
  fields: { name: string; type: string; alias: string; length?: number }[];
  features: { attributes: Record<string, unknown>; geometry?: Record<string, unknown> | null }[];
  exceededTransferLimit?: boolean;
}

/** The text of a JSON or GeoJSON answer (fails the test for a binary `f=pbf` answer). */
export function textOf(answer: QueryAnswer): string {
  if (typeof answer.body !== 'string') throw new Error(`expected a text answer, got ${answer.contentType}`);
  return answer.body;
}

/** Runs a query and parses its JSON body. */
export function q<T = EsriPage>(layer: EmulatedLayer, params: QueryParams, faults?: QueryFaults): T {
  return JSON.parse(textOf(layer.query(params, faults))) as T;
}

/** The error a query throws (fails the test when it does not throw one). */
export function queryError(
  layer: EmulatedLayer,
  params: QueryParams,
  faults?: QueryFaults,
): EmulatorQueryError {
  try {
    layer.query(params, faults);
  } catch (error) {
    expect(error).toBeInstanceOf(EmulatorQueryError);
    return error as EmulatorQueryError;
  }
  throw new Error(`expected the query ${JSON.stringify(params)} to fail`);
}

export function oidsOf(page: EsriPage, oidField = 'OBJECTID'): number[] {
  return page.features.map((f) => f.attributes[oidField] as number);
}

/** Twice the signed area of a ring of positions (positive = counter-clockwise). */
export function signedArea2(ring: number[][]): number {
  let s = 0;
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[(i + 1) % ring.length]!;
    s += a[0]! * b[1]! - b[0]! * a[1]!;
  }
  return s;
}
