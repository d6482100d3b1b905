/**
 * `outStatistics` (count, sum, min, max, avg, stddev, var), optionally grouped, answered like
 * the recorded statistics responses.
 */
import { cellText, type FieldRef } from './fields.js';
import type { StatisticRequest, StatisticType } from './query-params.js';
import type { Selection } from './select.js';
import type { CellValue } from './store.js';

interface Acc {
  count: number;
  sum: number;
  sumSq: number;
  min: CellValue;
  max: CellValue;
}

function newAcc(): Acc {
  return { count: 0, sum: 0, sumSq: 0, min: null, max: null };
}

function less(a: CellValue, b: CellValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  return String(a) < String(b);
}

function add(acc: Acc, v: CellValue): void {
  if (v === null) return;
  acc.count++;
  if (typeof v === 'number') {
    acc.sum += v;
    acc.sumSq += v * v;
  }
  if (acc.min === null || less(v, acc.min)) acc.min = v;
  if (acc.max === null || less(acc.max, v)) acc.max = v;
}

function result(type: StatisticType, acc: Acc): CellValue {
  switch (type) {
    case 'count':
      return acc.count;
    case 'sum':
      return acc.count === 0 ? null : acc.sum;
    case 'min':
      return acc.min;
    case 'max':
      return acc.max;
    case 'avg':
      return acc.count === 0 ? null : acc.sum / acc.count;
    case 'var':
    case 'stddev': {
      if (acc.count < 2) return acc.count === 0 ? null : 0;
      const mean = acc.sum / acc.count;
      const variance = Math.max(0, (acc.sumSq - acc.count * mean * mean) / (acc.count - 1));
      return type === 'var' ? variance : Math.sqrt(variance);
    }
  }
}

function statFieldType(s: StatisticRequest): string {
  if (s.type === 'count') return 'esriFieldTypeInteger';
  if (s.type === 'min' || s.type === 'max') {
    return s.field.isOid ? 'esriFieldTypeInteger' : s.field.field.type;
  }
  return 'esriFieldTypeDouble';
}

export interface StatisticsRow {
  attributes: Record<string, CellValue>;
}

/** Computes the statistics rows (one per group; one row when not grouped). */
export function computeStatistics(
  sel: Selection,
  stats: readonly StatisticRequest[],
  groupBy: readonly FieldRef[],
): { group: CellValue[]; values: CellValue[] }[] {
  const groups = new Map<string, { group: CellValue[]; accs: Acc[] }>();
  if (groupBy.length === 0) groups.set('', { group: [], accs: stats.map(newAcc) });
  for (let k = 0; k < sel.length; k++) {
    const row = sel.row(k);
    let entry: { group: CellValue[]; accs: Acc[] } | undefined;
    if (groupBy.length === 0) entry = groups.get('');
    else {
      const group = groupBy.map((g) => g.get(row));
      const key = JSON.stringify(group);
      entry = groups.get(key);
      if (!entry) {
        entry = { group, accs: stats.map(newAcc) };
        groups.set(key, entry);
      }
    }
    const accs = entry!.accs;
    for (let s = 0; s < stats.length; s++) add(accs[s]!, stats[s]!.field.get(row));
  }
  return [...groups.values()].map((e) => ({
    group: e.group,
    values: stats.map((s, i) => result(s.type, e.accs[i]!)),
  }));
}

/** The Esri JSON answer of a statistics query. */
export function statisticsText(
  sel: Selection,
  stats: readonly StatisticRequest[],
  groupBy: readonly FieldRef[],
): string {
  const rows = computeStatistics(sel, stats, groupBy);
  const names = [...groupBy.map((g) => g.name), ...stats.map((s) => s.outName)];
  const aliases = `{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(n)}`).join(',')}}`;
  const fields = [
    ...groupBy.map((g) => ({
      name: g.name,
      type: g.field.type,
      alias: g.field.alias ?? g.name,
      ...(g.field.length === undefined ? {} : { length: g.field.length }),
    })),
    ...stats.map((s) => ({ name: s.outName, type: statFieldType(s), alias: s.outName })),
  ];
  const keys = names.map((n) => `${JSON.stringify(n)}:`);
  const features = rows.map((r) => {
    const values = [...r.group, ...r.values];
    return `{"attributes":{${values.map((v, i) => keys[i] + cellText(v)).join(',')}}}`;
  });
  return `{"displayFieldName":"","fieldAliases":${aliases},"fields":${JSON.stringify(fields)},"features":[${features.join(',')}]}`;
}
