// Cell formatting shared by the printers: the `<none>`/`<unset>` conventions, container and selector
// columns, load-balancer addresses, truncated lists.

import type { Container } from 'kubernetes-types/core/v1.js';
import type { LabelSelector as K8sLabelSelector } from 'kubernetes-types/meta/v1.js';
import { ageOf } from '../duration.js';
import { formatLabelSelector, formatLabels } from '../selectors.js';
import type { ColumnDefinition, ColumnType } from './types.js';

export function col(name: string, type: ColumnType, description: string, priority = 0, format = ''): ColumnDefinition {
  return { name, type, format, description, priority };
}

export const NAME_COLUMN = col('Name', 'string', 'Name of the object, unique within its namespace.', 0, 'name');
export const AGE_COLUMN = col('Age', 'string', 'Time since the object was created.');
export const CONTAINERS_COLUMN = col('Containers', 'string', 'Container names in the pod template.', 1);
export const IMAGES_COLUMN = col('Images', 'string', 'Container images in the pod template.', 1);
export const SELECTOR_COLUMN = col('Selector', 'string', 'Label query selecting the managed pods.', 1);

export function age(timestamp: string | undefined, now: number): string {
  return ageOf(timestamp, now);
}

export function orNone(s: string | undefined | null): string {
  return s ? s : '<none>';
}

/** `k=v,...` sorted by key, `<none>` when empty (labels.FormatLabels). */
export function labelsOrNone(labels: Record<string, string> | undefined | null): string {
  return orNone(formatLabels(labels));
}

/** metav1.FormatLabelSelector: `<none>` when empty or missing, `<error>` when invalid. */
export function selectorOrNone(sel: K8sLabelSelector | undefined | null): string {
  try {
    return orNone(formatLabelSelector(sel));
  } catch {
    return '<error>';
  }
}

/** Container names and images, each comma-joined. */
export function containerCells(containers: Container[] | undefined): [string, string] {
  const cs = containers ?? [];
  return [cs.map((c) => c.name ?? '').join(','), cs.map((c) => c.image ?? '').join(',')];
}

/** First `max` entries, then ` + N more...`; `<unset>` when there is nothing. */
export function listWithMore(items: string[], max = 3): string {
  if (items.length > max) return `${items.slice(0, max).join(',')} + ${items.length - max} more...`;
  return items.length ? items.join(',') : '<unset>';
}

const LOAD_BALANCER_WIDTH = 16;

/**
 * Sorted, de-duplicated ingress IPs (or hostnames) of a load balancer. Narrow output clips long lists; the
 * server always renders the wide form, so callers pass wide=true.
 */
export function loadBalancerAddresses(ingress: Array<{ ip?: string; hostname?: string }> | undefined, wide: boolean): string {
  const set = new Set<string>();
  for (const i of ingress ?? []) {
    if (i.ip) set.add(i.ip);
    else if (i.hostname) set.add(i.hostname);
  }
  const r = [...set].sort().join(',');
  return !wide && r.length > LOAD_BALANCER_WIDTH ? `${r.slice(0, LOAD_BALANCER_WIDTH - 3)}...` : r;
}

export function boolPtr(v: boolean | undefined | null): string {
  if (v === undefined || v === null) return '<unset>';
  return v ? 'True' : 'False';
}

/** Quantities and int-or-strings print as stored; numbers arrive when clients send JSON numbers. */
export function scalar(v: string | number | undefined | null, missing = ''): string {
  if (v === undefined || v === null) return missing;
  return String(v);
}

export function int(v: number | undefined | null, missing = 0): number {
  return typeof v === 'number' ? v : missing;
}

/** `host:port`, bracketing IPv6 hosts. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** kind.group, lower-cased, for references such as `statefulset.apps/web`. */
export function groupKindName(apiVersion: string | undefined, kind: string, name: string): string {
  const gv = apiVersion ?? '';
  const group = gv.includes('/') ? gv.slice(0, gv.indexOf('/')) : '';
  const gk = group ? `${kind}.${group}` : kind;
  return gk ? `${gk.toLowerCase()}/${name}` : name;
}
