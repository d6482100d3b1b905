/**
 * `--domains code|label|both`: coded-value domains written as their labels (`label`), or as the code
 * plus a `<field>_label` column (`both`). A layer with subtypes (`typeIdField` and `types`) resolves
 * a field's domain through the feature's subtype first (a subtype's domain, or `inherited`: the
 * field's own), as ArcGIS does.
 */
import { EtlError } from '../core/errors.js';
import type { EsriField } from '../core/protocol.js';

export type DomainMode = 'code' | 'label' | 'both';
export const DOMAIN_MODES: readonly DomainMode[] = ['code', 'label', 'both'];

type Labels = Map<string, string>;

export interface LayerDomains {
  /** Fields with a coded-value domain (their own, or one of a subtype). */
  readonly fields: ReadonlySet<string>;
  /** The subtype field (typeIdField), if the layer has subtypes. */
  readonly subtypeField: string | undefined;
  /** The label of a field's value in a feature, or undefined when no domain names it. */
  label(field: string, attributes: Record<string, unknown>): string | undefined;
}

/** The coded-value domains of a layer's metadata (`fields[].domain`, `typeIdField` + `types[].domains`). */
export function layerDomains(fields: readonly EsriField[], meta: Record<string, unknown>): LayerDomains {
  const own = new Map<string, Labels>();
  for (const f of fields) {
    const labels = codedValues(f.domain);
    if (labels) own.set(f.name, labels);
  }
  const subtypeField =
    typeof meta.typeIdField === 'string' && meta.typeIdField !== '' ? meta.typeIdField : undefined;
  const bySubtype = new Map<string, Map<string, Labels | 'inherited'>>();
  for (const t of Array.isArray(meta.types) ? (meta.types as Record<string, unknown>[]) : []) {
    const domains = (t.domains ?? {}) as Record<string, unknown>;
    const map = new Map<string, Labels | 'inherited'>();
    for (const [field, domain] of Object.entries(domains)) {
      if ((domain as { type?: unknown } | null)?.type === 'inherited') map.set(field, 'inherited');
      else {
        const labels = codedValues(domain);
        if (labels) map.set(field, labels);
      }
    }
    bySubtype.set(String(t.id), map);
  }
  const names = new Set(own.keys());
  for (const map of bySubtype.values()) for (const [f, d] of map) if (d !== 'inherited') names.add(f);
  return {
    fields: names,
    subtypeField,
    label(field, attributes) {
      const value = attributes[field];
      if (value === null || value === undefined) return undefined;
      let labels = own.get(field);
      if (subtypeField !== undefined) {
        const subtype = attributes[subtypeField];
        const d =
          subtype === null || subtype === undefined ? undefined : bySubtype.get(String(subtype))?.get(field);
        if (d !== undefined && d !== 'inherited') labels = d;
      }
      return labels?.get(String(value));
    },
  };
}

function codedValues(domain: unknown): Labels | undefined {
  const d = domain as { type?: unknown; codedValues?: unknown } | null | undefined;
  if (d?.type !== 'codedValue' || !Array.isArray(d.codedValues)) return undefined;
  const labels: Labels = new Map();
  for (const c of d.codedValues as { code?: unknown; name?: unknown }[]) {
    if (c && (typeof c.code === 'number' || typeof c.code === 'string') && typeof c.name === 'string') {
      labels.set(String(c.code), c.name);
    }
  }
  return labels;
}

/** The schema fields for a mode: `label` turns domain fields into text, `both` adds `<field>_label`. */
export function domainFields(
  fields: readonly EsriField[],
  domains: LayerDomains,
  mode: DomainMode,
): EsriField[] {
  if (mode === 'code') return [...fields];
  const out: EsriField[] = [];
  for (const f of fields) {
    const coded = domains.fields.has(f.name);
    if (coded && mode === 'label') {
      out.push({ name: f.name, type: 'esriFieldTypeString', ...(f.alias ? { alias: f.alias } : {}) });
      continue;
    }
    out.push(f);
    if (coded) {
      out.push({
        name: `${f.name}_label`,
        type: 'esriFieldTypeString',
        ...(f.alias ? { alias: `${f.alias} (label)` } : {}),
      });
    }
  }
  return out;
}

/**
 * The attributes of a feature for a mode: `label` replaces a code by its label (a code no domain
 * names stays as it is), `both` adds `<field>_label` (null when no domain names the code).
 */
export function domainAttributes(
  attributes: Record<string, unknown>,
  domains: LayerDomains,
  mode: DomainMode,
): Record<string, unknown> {
  if (mode === 'code' || domains.fields.size === 0) return attributes;
  const out: Record<string, unknown> = { ...attributes };
  for (const field of domains.fields) {
    if (!(field in attributes)) continue;
    const label = domains.label(field, attributes);
    if (mode === 'label') {
      if (label !== undefined) out[field] = label;
      else if (attributes[field] !== null && attributes[field] !== undefined)
        out[field] = String(attributes[field]);
    } else out[`${field}_label`] = label ?? null;
  }
  return out;
}

export function validateDomainMode(mode: string | undefined): DomainMode | undefined {
  if (mode === undefined) return undefined;
  if ((DOMAIN_MODES as readonly string[]).includes(mode)) return mode as DomainMode;
  throw new EtlError('USAGE', `--domains must be one of ${DOMAIN_MODES.join(', ')} (got "${mode}")`);
}
