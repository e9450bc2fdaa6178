import type { JsonObject, ManagedFieldsEntry } from '../object.js';
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
  list.sort(compareEntries);
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

// ---- the update fast path ---------------------------------------------------------------------------------------

/**
 * What an Update write did to the managers, applied straight to the stored managedFields entries: only the
 * entries whose fields the write touched are decoded and re-encoded; the others are kept as stored. Gives
 * exactly what decodeManagers → (drop `changed` and `removed` from every set, give `own` to the writer) →
 * capUpdateManagers → encodeManagers gives, for entries as kite stores them (valid and canonical). Returns
 * null when the entries need the general path: an invalid or duplicate entry, or more Update managers than
 * capUpdateManagers keeps.
 */
export function updateStoredManagers(
  entries: unknown,
  changed: FieldSet,
  removed: FieldSet,
  own: FieldSet,
  writer: { manager: string; apiVersion: string; subresource?: string; time: string },
): { entries: ManagedFieldsEntry[] | undefined; count: number } | null {
  if (entries === undefined || entries === null) return { entries: undefined, count: 0 };
  if (!Array.isArray(entries)) return null;
  const writerSub = writer.subresource || undefined;
  // What the write changed without taking it (system metadata): an owner of any of it loses it.
  const lost = own.isEmpty() ? changed : changed.difference(own);
  const keys = new Set<string>();
  const out: Array<ManagedFieldsEntry & { operation: 'Apply' | 'Update' }> = [];
  let writerSet: FieldSet | undefined;
  let writerFound = false;
  for (const e of entries as unknown[]) {
    if (!isJsonObject(e)) return null;
    const op = e.operation;
    if (op !== 'Apply' && op !== 'Update') return null;
    if (typeof e.apiVersion !== 'string' || e.apiVersion.length < 1 || e.fieldsType !== 'FieldsV1') return null;
    const raw = e.fieldsV1;
    if (raw !== undefined && raw !== null && !isJsonObject(raw)) return null;
    const manager = typeof e.manager === 'string' ? e.manager : '';
    const subresource = typeof e.subresource === 'string' && e.subresource ? e.subresource : undefined;
    let time = typeof e.time === 'string' ? e.time : undefined;
    const key = identity(manager, op, e.apiVersion, subresource);
    if (keys.has(key)) return null;
    keys.add(key);
    const fields: JsonObject | undefined = isJsonObject(raw) && Object.keys(raw).length > 0 ? raw : undefined;
    const isWriter = op === 'Update' && manager === writer.manager && e.apiVersion === writer.apiVersion && subresource === writerSub;
    let encoded: JsonObject | undefined = fields;
    if (isWriter) writerFound = true;
    if (isWriter && !own.isEmpty() && fields && ownsAll(own, fields) && !touches(lost, fields) && !touches(removed, fields)) {
      // The writer already owns everything it wrote and loses nothing (a Lease renewal, a repeated status
      // write): its set stays as stored and only its time moves.
      time = writer.time;
    } else {
      // Only an owner of something this write changed or removed loses fields (and needs decoding).
      let set: FieldSet | undefined;
      if (fields && (touches(changed, fields) || touches(removed, fields))) {
        try {
          set = decodeFieldsV1(fields).difference(changed).difference(removed);
        } catch {
          return null;
        }
      }
      if (isWriter && !own.isEmpty()) {
        try {
          writerSet = own.union(set ?? (fields ? decodeFieldsV1(fields) : new FieldSet()));
        } catch {
          return null;
        }
        continue;
      }
      if (set) encoded = set.isEmpty() ? undefined : encodeFieldsV1(set);
    }
    if (!encoded) continue;
    const entry: ManagedFieldsEntry & { operation: 'Apply' | 'Update' } = { manager, operation: op, apiVersion: e.apiVersion };
    if (time) entry.time = time;
    entry.fieldsType = 'FieldsV1';
    entry.fieldsV1 = encoded;
    if (subresource) entry.subresource = subresource;
    out.push(entry);
  }
  const count = keys.size;
  if (writerSet || (!writerFound && !own.isEmpty())) {
    const entry: ManagedFieldsEntry & { operation: 'Apply' | 'Update' } = { manager: writer.manager, operation: 'Update', apiVersion: writer.apiVersion, time: writer.time, fieldsType: 'FieldsV1', fieldsV1: encodeFieldsV1(writerSet ?? own) };
    if (writerSub) entry.subresource = writerSub;
    out.push(entry);
  }
  let updaters = 0;
  for (const e of out) if (e.operation === 'Update') updaters++;
  if (updaters > MAX_UPDATE_MANAGERS) return null;
  if (out.length === 0) return { entries: undefined, count };
  if (out.length > 1) out.sort(compareEntries);
  return { entries: out, count };
}

/** kube-apiserver's order of managedFields entries. */
function compareEntries(p: ManagedFieldsEntry, q: ManagedFieldsEntry): number {
  return (
    compareStrings(p.operation ?? '', q.operation ?? '') ||
    seconds(p.time) - seconds(q.time) ||
    compareStrings(p.manager ?? '', q.manager ?? '') ||
    compareStrings(p.apiVersion ?? '', q.apiVersion ?? '') ||
    compareStrings(p.subresource ?? '', q.subresource ?? '')
  );
}

/** A manager's identity as managerKey has it (Apply entries merge across versions), cheaper to build. */
function identity(manager: string, op: 'Apply' | 'Update', apiVersion: string, subresource: string | undefined): string {
  const v = op === 'Update' ? apiVersion : '';
  const sub = subresource ?? '';
  return `${op[0]}${v.length}:${v}${sub.length}:${sub}${manager}`;
}

/** Whether every member of `set` is a member of the FieldsV1 object `fields`. */
function ownsAll(set: FieldSet, fields: JsonObject): boolean {
  for (const pe of set.members) {
    const v = fields[pe];
    if (!isJsonObject(v) || !(Object.prototype.hasOwnProperty.call(v, '.') || Object.keys(v).length === 0)) return false;
  }
  for (const [pe, c] of set.children) {
    const v = fields[pe];
    if (!isJsonObject(v) || !ownsAll(c, v)) return false;
  }
  return true;
}

/** Whether any member of `set` is a member of the FieldsV1 object `fields` (then that owner loses it). */
function touches(set: FieldSet, fields: JsonObject): boolean {
  for (const pe of set.members) {
    const v = fields[pe];
    if (isJsonObject(v) && (Object.prototype.hasOwnProperty.call(v, '.') || Object.keys(v).length === 0)) return true;
  }
  for (const [pe, c] of set.children) {
    const v = fields[pe];
    if (isJsonObject(v) && touches(c, v)) return true;
  }
  return false;
}
