import type { ManagedFieldsEntry } from '../object.js';
import { compareStrings, isJsonObject } from './json.js';
import { decodeFieldsV1, encodeFieldsV1, FieldSet } from './fieldset.js';

// metadata.managedFields ⇄ field sets per manager. A manager is identified, as in kube-apiserver, by its name,
// operation and subresource, plus the apiVersion for Update operations; Apply entries of one manager merge across
// versions.

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

/** Managers by identity key. */
export type Managers = Map<string, Manager>;

export function managerKey(manager: string, operation: 'Apply' | 'Update', apiVersion: string, subresource?: string): string {
  return JSON.stringify({ manager, operation, apiVersion: operation === 'Update' ? apiVersion : undefined, subresource: subresource || undefined });
}

export function keyOf(m: Manager): string {
  return managerKey(m.manager, m.operation, m.apiVersion, m.subresource);
}

/** Decodes managedFields; throws with kube-apiserver's reasons on an invalid entry. */
export function decodeManagers(entries: unknown): Managers {
  const out: Managers = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((e: unknown, i) => {
    if (!isJsonObject(e)) throw new Error(`managed fields entry ${i} must be an object`);
    const op = e.operation;
    if (op !== 'Apply' && op !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (typeof e.apiVersion !== 'string' || e.apiVersion.length < 1) throw new Error('apiVersion must not be empty');
    if (e.fieldsType === undefined || e.fieldsType === '') throw new Error(`missing fieldsType in managed fields entry ${i}`);
    if (e.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}`);
    const m: Manager = {
      manager: typeof e.manager === 'string' ? e.manager : '',
      operation: op,
      apiVersion: e.apiVersion,
      subresource: typeof e.subresource === 'string' && e.subresource ? e.subresource : undefined,
      time: typeof e.time === 'string' ? e.time : undefined,
      set: e.fieldsV1 === undefined || e.fieldsV1 === null ? new FieldSet() : decodeFieldsV1(e.fieldsV1),
    };
    out.set(keyOf(m), m);
  });
  return out;
}

/** Decodes managedFields, treating anything invalid as no managed fields. */
export function decodeManagersOrEmpty(entries: unknown): Managers {
  try {
    return decodeManagers(entries);
  } catch {
    return new Map();
  }
}

function seconds(time: string | undefined): number {
  if (!time) return 0;
  const t = Date.parse(time);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

/** The managedFields list, in kube-apiserver's order; undefined when no manager remains. */
export function encodeManagers(managers: Managers): ManagedFieldsEntry[] | undefined {
  const list = [...managers.values()].filter((m) => !m.set.isEmpty());
  if (list.length === 0) return undefined;
  list.sort(
    (p, q) =>
      compareStrings(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      compareStrings(p.manager, q.manager) ||
      compareStrings(p.apiVersion, q.apiVersion) ||
      compareStrings(p.subresource ?? '', q.subresource ?? ''),
  );
  return list.map((m) => {
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
    if (m.time) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = encodeFieldsV1(m.set);
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
}

export function cloneManagers(managers: Managers): Managers {
  const out: Managers = new Map();
  for (const [k, m] of managers) out.set(k, { ...m, set: m.set.union(new FieldSet()) });
  return out;
}

/** How a conflict names a manager: "kubectl-client-side-apply" using apps/v1, "kubectl" with subresource "scale". */
export function describeManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

export const MAX_UPDATE_MANAGERS = 10;

/** Folds the oldest Update managers into "ancient-changes" once there are more than `max` of them. */
export function capUpdateManagers(managers: Managers, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managers.entries()].filter(([, m]) => m.operation === 'Update').map(([k]) => k);
  if (updaters.length <= max) return;
  updaters.sort((a, b) => seconds(managers.get(a)!.time) - seconds(managers.get(b)!.time) || compareStrings(a, b));
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const key = updaters[i];
    const m = managers.get(key)!;
    const bucketKey = managerKey('ancient-changes', 'Update', m.apiVersion);
    const first = firstByVersion.get(m.apiVersion);
    if (first === undefined) {
      firstByVersion.set(m.apiVersion, key);
      continue;
    }
    if (!managers.has(bucketKey)) {
      const f = managers.get(first)!;
      managers.delete(first);
      managers.set(bucketKey, { manager: 'ancient-changes', operation: 'Update', apiVersion: m.apiVersion, set: f.set });
    }
    const bucket = managers.get(bucketKey)!;
    bucket.set = m.set.union(bucket.set);
    bucket.time = m.time;
    managers.delete(key);
    length--;
  }
}
