/**
 * `--order-by field [ASC|DESC]`: the output in the order of a field, every feature exactly once.
 *
 * Pages are asked one after the other with `orderByFields=<field> <dir>,<OID> ASC` (the OID makes
 * the order total, so that the pages of a stable server never overlap or leave a gap) and
 * `resultOffset` advancing by what each answer holds (a server capping its pages silently is paged
 * by its own cap). Nothing is trusted: every answer is checked in the order the server sent it, and
 * across pages, to follow the field's order; a server that ignores orderByFields on the field
 * (Koop on some fields) stops the export with ORDER_NOT_HONOURED before a wrong order is published.
 * Repeats are dropped by OID (the extraction's OID set), and the whole is checked against the
 * count, as for every strategy. Strings may be ordered by the server's collation: binary or
 * case-insensitive both pass. Nulls may come first or last (as the database sorts them), not
 * between values. The output is not in OID order: such an export cannot be resumed.
 */
import { EtlError } from '../../core/errors.js';
import type { EsriFeature } from '../../core/protocol.js';
import { featureParams, runQuery } from '../query.js';
import { buildWhere, validateFieldName } from '../where.js';
import { refusal } from './refusal.js';
import type { PreparedStrategy, QueryContext, Strategy } from './types.js';

export interface OrderBy {
  /** The field (a name of the layer). */
  field: string;
  /** Descending (default ascending). */
  desc?: boolean | undefined;
}

/** `field`, `field ASC` or `field DESC` (USAGE otherwise). */
export function parseOrderBy(text: string): OrderBy {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*)(?:\s+(ASC|DESC))?\s*$/i.exec(text);
  if (!m) {
    throw new EtlError(
      'USAGE',
      `--order-by must be a field name, optionally followed by ASC or DESC (got "${text}")`,
    );
  }
  return { field: m[1]!, desc: m[2]?.toUpperCase() === 'DESC' };
}

const MAX_EMPTY_CONTINUATIONS = 3;

export const orderByStrategy: Strategy = {
  name: 'order-by',
  async prepare(ctx: QueryContext): Promise<PreparedStrategy> {
    const order = ctx.orderBy;
    if (order === undefined) {
      throw new EtlError('USAGE', 'The order-by strategy needs an order (--order-by field [ASC|DESC])');
    }
    if (!ctx.layer.supportsPagination) {
      throw new EtlError(
        'NO_STRATEGY',
        `--order-by pages with resultOffset, which ${ctx.layer.url} does not support (advancedQueryCapabilities.supportsPagination)`,
      );
    }
    const field = validateFieldName(order.field, ctx.layer.fields);
    if (ctx.outFields !== '*' && !ctx.outFields.split(',').includes(field)) {
      throw new EtlError('USAGE', `--order-by ${field}: the field must be among the fields queried`);
    }
    const where = buildWhere({ userWhere: ctx.userWhere, oidField: ctx.layer.oidField, after: ctx.after });
    return {
      name: 'order-by',
      ordered: false,
      pages: () => orderedPages(ctx, where, { field, desc: order.desc === true }),
    };
  },
};

/** The order checked feature by feature, across pages. */
class OrderCheck {
  #state: 'leading-nulls' | 'values' | 'trailing-nulls' = 'leading-nulls';
  #last: unknown = undefined;
  #binary = true;
  #folded = true;
  #count = 0;

  constructor(
    readonly field: string,
    readonly desc: boolean,
  ) {}

  /** The reason the server's order is not the field's, or undefined. */
  next(value: unknown, oid: number): string | undefined {
    this.#count++;
    const where = `feature ${this.#count} (OID ${oid})`;
    if (value === null || value === undefined) {
      if (this.#state === 'values') this.#state = 'trailing-nulls';
      return undefined;
    }
    if (this.#state === 'trailing-nulls')
      return `${where} has a value after the nulls that followed the values`;
    if (this.#state === 'leading-nulls') {
      this.#state = 'values';
      this.#last = value;
      return undefined;
    }
    const before = this.#last;
    this.#last = value;
    const sign = this.desc ? -1 : 1;
    if (typeof value === 'number' && typeof before === 'number') {
      return sign * (value - before) < 0 ? `${where}: ${value} after ${before}` : undefined;
    }
    if (typeof value === 'bigint' || typeof before === 'bigint') {
      const a = BigInt(before as number | bigint);
      const b = BigInt(value as number | bigint);
      return (this.desc ? b > a : b < a) ? `${where}: ${b} after ${a}` : undefined;
    }
    const a = String(before);
    const b = String(value);
    if (sign * compare(b, a) < 0) this.#binary = false;
    if (sign * compare(b.toLowerCase(), a.toLowerCase()) < 0) this.#folded = false;
    return this.#binary || this.#folded
      ? undefined
      : `${where}: ${JSON.stringify(b)} after ${JSON.stringify(a)}`;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function notHonoured(ctx: QueryContext, order: OrderBy, why: string): EtlError {
  return new EtlError(
    'ORDER_NOT_HONOURED',
    `The server does not answer in the order of ${order.field} ${order.desc ? 'DESC' : 'ASC'} (${why}): it ignores orderByFields on that field; export without --order-by and sort the output`,
    { url: ctx.layer.url },
  );
}

async function* orderedPages(
  ctx: QueryContext,
  where: string,
  order: OrderBy,
): AsyncGenerator<EsriFeature[], void, undefined> {
  const oidField = ctx.layer.oidField;
  const orderByFields = `${order.field} ${order.desc ? 'DESC' : 'ASC'},${oidField} ASC`;
  const check = new OrderCheck(order.field, order.desc === true);
  let offset = 0;
  let empty = 0;
  for (;;) {
    if (ctx.signal?.aborted) throw ctx.signal.reason;
    let result: Awaited<ReturnType<typeof runQuery>>;
    try {
      result = await runQuery(ctx, {
        ...featureParams(ctx, where),
        orderByFields,
        resultOffset: offset,
        resultRecordCount: ctx.pageSize,
      });
    } catch (error) {
      throw offset === 0 ? refusal(error, `orderByFields=${orderByFields}`) : error;
    }
    const features = result.features;
    for (const f of features) {
      const attributes = f.attributes ?? {};
      const why = check.next(attributes[order.field], Number(attributes[oidField]));
      if (why !== undefined) throw notHonoured(ctx, order, why);
    }
    offset += features.length;
    if (features.length > 0) {
      empty = 0;
      yield features;
    }
    if (result.exceededTransferLimit) {
      if (features.length === 0 && ++empty >= MAX_EMPTY_CONTINUATIONS) {
        throw new EtlError(
          'EXTRACTION_INCOMPLETE',
          `The server keeps answering empty pages with exceededTransferLimit at offset ${offset}`,
          { url: ctx.layer.url },
        );
      }
      continue;
    }
    if (offset >= ctx.expected) return;
    if (features.length === 0) {
      throw new EtlError(
        'EXTRACTION_INCOMPLETE',
        `Got ${offset} features ordered by ${order.field} and then an empty page, although the layer counts ${ctx.expected} for this query`,
        { url: ctx.layer.url },
      );
    }
    // a short page, unflagged, while more remain: a silent cap; the next page starts after it
  }
}
