import type { KoopFieldSpec, SourceFeature } from './koop-server.mjs';

export const BASE_FIELDS: readonly KoopFieldSpec[];
export const BIG_WHEN: number;
export function generateFeatures(
  random: () => number,
  kind: 'point' | 'polygon' | 'line',
  count: number,
  nullGeometries?: number,
): SourceFeature[];
export function generateEvents(random: () => number, count: number): SourceFeature[];
export const BIG_LAYER: { name: string; count: number; seed: number };
