import { StatusError, type StatusCause } from '../errors.js';
import type { JsonObject, JsonValue, KubeObject, ManagedFieldsEntry } from '../object.js';
import { schemaForKind } from '../schema/registry.js';
import type { Schema } from '../schema/types.js';
import { patchBadRequest, patchInternal } from './errors.js';
import { FieldSet, goJson, pathString, type FieldPath } from './fieldset.js';
import { deepEqual, isJsonObject } from './json.js';
import { capUpdateManagers, cloneManagers, decodeManagers, decodeManagersOrEmpty, describeManager, encodeManagers, managerKey, updateStoredManagers, type Managers } from './managed.js';
import { checkDuplicates, compareValues, ensureNamedFieldsAreMembers, mergeValues, removeItems, toFieldSet, type Comparison } from './typed.js';
import { extension, registryWalker, type SchemaWalker } from './walker.js';

export { decodeFieldsV1, encodeFieldsV1, FieldSet, pathString } from './fieldset.js';

// Field ownership (metadata.managedFields) and server-side apply, as kube-apiserver 1.32 does them
// (k8s.io/apimachinery managedfields + sigs.k8s.io/structured-merge-diff; kubectl flows in
// shared/kubectl-compat.md A12):
// - every create/update/patch makes its manager (operation Update) the owner of the fields it changed; other
//   managers lose them;
// - an apply makes the applied configuration's fields the manager's set (operation Apply), removes fields the
//   manager applied before and no longer applies unless someone else owns them, and fails with a 409 when it
//   changes a field another manager owns (unless forced, which takes ownership);
// - the kubectl-specific pieces: conflicts that only repeat the last-applied-configuration annotation are
//   forgiven for manager "kubectl", which also keeps that annotation up to date.
// Objects must already be defaulted the way they will be stored: defaulted fields belong to whoever wrote them.

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
const BEFORE_FIRST_APPLY = 'before-first-apply';

/** Narrows a field set to what an operation may own (kube-apiserver's "reset fields"). */
export type FieldFilter = (set: FieldSet) => FieldSet;

export interface ManagedFieldsOptions {
  walker?: SchemaWalker;
  /** Defaults by subresource: the main resource never owns status, /status never owns spec, /scale only replicas. */
  filter?: FieldFilter;
}

/** Fields no manager ever owns: identity and system metadata. */
const STRIPPED = FieldSet.of(
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ['f:metadata', 'f:name'],
  ['f:metadata', 'f:namespace'],
  ['f:metadata', 'f:creationTimestamp'],
  ['f:metadata', 'f:selfLink'],
  ['f:metadata', 'f:uid'],
  ['f:metadata', 'f:clusterName'],
  ['f:metadata', 'f:generation'],
  ['f:metadata', 'f:managedFields'],
  ['f:metadata', 'f:resourceVersion'],
);

const STATUS = FieldSet.of(['f:status']);
const SPEC = FieldSet.of(['f:spec']);
const REPLICAS = FieldSet.of(['f:spec', 'f:replicas']);

export function defaultFieldFilter(subresource?: string): FieldFilter {
  if (!subresource) return (s) => s.recursiveDifference(STATUS);
  if (subresource === 'status') return (s) => s.recursiveDifference(SPEC);
  if (subresource === 'scale') return (s) => s.intersection(REPLICAS);
  return (s) => s;
}

/** The top-level fields an operation may not change, restored from the live object after an apply. */
function ignoredTopLevel(subresource?: string): string[] {
  if (!subresource) return ['status'];
  if (subresource === 'status') return ['spec'];
  return [];
}

// ---- helpers exposed to the API server --------------------------------------------------------------------------

/** Every field an object sets, as server-side apply counts them. */
export function fieldSetOf(obj: JsonValue, schema: Schema | undefined, walker: SchemaWalker = registryWalker): FieldSet {
  return toFieldSet(walker, obj, schema);
}

/** The schema of an object's kind from the registry, or undefined (then every value is treated structurally). */
export function schemaForObject(obj: KubeObject): Schema | undefined {
  const av = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const slash = av.indexOf('/');
  try {
    return schemaForKind(slash < 0 ? '' : av.slice(0, slash), slash < 0 ? av : av.slice(slash + 1), String(obj.kind ?? ''));
  } catch {
    return undefined;
  }
}

export function formatTime(now: Date | string): string {
  if (typeof now === 'string') return now;
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function withoutManagedFields(obj: KubeObject | JsonObject): JsonObject {
  const c = structuredClone(obj) as JsonObject;
  const meta = c.metadata;
  if (isJsonObject(meta)) delete meta.managedFields;
  return c;
}

/**
 * The object as the comparison sees it, without managedFields and the top-level fields in `skip`. Shallow:
 * the comparison only reads, so the nested values are shared with the object rather than cloned.
 */
function comparable(obj: KubeObject | JsonObject, skip: readonly string[]): JsonObject {
  const c = { ...obj } as JsonObject;
  for (const k of skip) delete c[k];
  const meta = c.metadata;
  if (isJsonObject(meta) && 'managedFields' in meta) {
    const m = { ...meta };
    delete m.managedFields;
    c.metadata = m;
  }
  return c;
}

/**
 * Go's zero value of a kind, cut down to the parts present in `value`: kube-apiserver compares a create against
 * it, so fields that exist in every Go object (non-pointer structs, lists without omitempty) are not "added" and
 * their paths do not appear as members ("."). The schema does not say which struct fields are pointers, so the
 * common value-typed ones are named here; the difference is only in how managedFields look.
 */
const ZERO_STRUCTS = new Set(['metadata', 'spec', 'status', 'template', 'strategy', 'updateStrategy', 'jobTemplate', 'resources']);
const ZERO_NULL_LISTS = new Set(['containers']);

function zeroLike(w: SchemaWalker, schema: Schema | undefined, value: JsonValue): JsonObject {
  const out: JsonObject = {};
  const r = w.resolve(schema);
  if (!r?.properties || !isJsonObject(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    const ps = r.properties[k];
    if (!ps) continue;
    if (ZERO_NULL_LISTS.has(k) && Array.isArray(v)) out[k] = null;
    if (!ZERO_STRUCTS.has(k) || !isJsonObject(v) || !w.resolve(ps)?.properties) continue;
    if (extension(w, ps, 'x-kubernetes-map-type') === 'atomic' || extension(w, ps, 'x-kite-nullable')) continue;
    out[k] = zeroLike(w, ps, v);
  }
  return out;
}

function filterComparison(c: Comparison, filter: FieldFilter): Comparison {
  return { added: filter(c.added), modified: filter(c.modified), removed: filter(c.removed) };
}

// ---- Update -------------------------------------------------------------------------------------------------------

/**
 * Records a write by `manager` (operation Update) that turned `oldObj` into `newObj` (`oldObj` undefined for a
 * create). Returns the new managedFields (undefined: none). Like kube-apiserver, managedFields sent in `newObj`
 * replace the live ones (that is how kubectl migrates client-side-apply ownership), `[]` or `[{}]` clears them,
 * and an existing object without managedFields keeps none.
 */
export function computeManagedFieldsForUpdate(
  oldObj: KubeObject | undefined,
  newObj: KubeObject,
  manager: string,
  _operation: 'Update',
  apiVersion: string,
  subresource: string | undefined,
  now: Date | string,
  schema?: Schema,
  opts: ManagedFieldsOptions = {},
): ManagedFieldsEntry[] | undefined {
  const w = opts.walker ?? registryWalker;
  const sch = schema ?? schemaForObject(newObj);
  const filter = opts.filter ?? defaultFieldFilter(subresource);
  let managed: Managers;
  const sent: unknown = newObj.metadata?.managedFields;
  // The default filter drops every field under the top-level fields this write may not own: not comparing
  // them at all gives the same sets, without walking a pod's status on every spec write and vice versa.
  const skip = opts.filter ? [] : ignoredTopLevel(subresource);
  const time = formatTime(now);
  // The common case (a subresource write, or a write that sends back the managedFields it read): the stored
  // entries are already valid and canonical, so only the owners of what changed are decoded and re-encoded.
  const stored: unknown = oldObj?.metadata?.managedFields;
  if (oldObj && (subresource || sent === undefined || (sent !== null && deepEqual(sent, stored)))) {
    const cmp = compareForUpdate(w, sch, filter, oldObj, newObj, skip);
    const changed = cmp.modified.union(cmp.added);
    const res = updateStoredManagers(stored, changed, cmp.removed, changed.difference(STRIPPED), { manager: manager || 'unknown', apiVersion, subresource, time });
    if (res) return res.count === 0 && oldObj.metadata?.uid ? undefined : res.entries;
  }
  if (subresource) {
    managed = decodeManagersOrEmpty(oldObj?.metadata?.managedFields);
  } else if (isReset(sent)) {
    managed = new Map();
  } else {
    managed = decodeManagersOrEmpty(sent);
    if (managed.size === 0) managed = decodeManagersOrEmpty(oldObj?.metadata?.managedFields);
  }
  if (managed.size === 0 && oldObj?.metadata?.uid) return undefined;
  recordUpdate(w, sch, filter, managed, oldObj, newObj, manager || 'unknown', apiVersion, subresource, time, skip);
  capUpdateManagers(managed);
  return encodeManagers(managed);
}

function isReset(mf: unknown): boolean {
  if (!Array.isArray(mf)) return false;
  return mf.length === 0 || (mf.length === 1 && isJsonObject(mf[0]) && Object.keys(mf[0]).length === 0);
}

/** The fields an Update write added, modified and removed, narrowed to what it may own. */
function compareForUpdate(w: SchemaWalker, schema: Schema | undefined, filter: FieldFilter, oldObj: KubeObject | JsonObject | undefined, newObj: KubeObject | JsonObject, skip: readonly string[]): Comparison {
  const after = comparable(newObj, skip);
  const before = oldObj ? comparable(oldObj, skip) : zeroLike(w, schema, after);
  return filterComparison(compareValues(w, before, after, schema), filter);
}

function recordUpdate(
  w: SchemaWalker,
  schema: Schema | undefined,
  filter: FieldFilter,
  managed: Managers,
  oldObj: KubeObject | JsonObject | undefined,
  newObj: KubeObject | JsonObject,
  manager: string,
  apiVersion: string,
  subresource: string | undefined,
  time: string,
  skip: readonly string[] = [],
): void {
  const cmp = compareForUpdate(w, schema, filter, oldObj, newObj, skip);
  const changed = cmp.modified.union(cmp.added);
  for (const [k, m] of managed) {
    m.set = m.set.difference(changed).difference(cmp.removed);
    if (m.set.isEmpty()) managed.delete(k);
  }
  const own = changed.difference(STRIPPED);
  if (own.isEmpty()) return;
  const key = managerKey(manager, 'Update', apiVersion, subresource);
  const prev = managed.get(key);
  managed.set(key, { manager, operation: 'Update', apiVersion, subresource, time, set: prev ? own.union(prev.set) : own });
}

// ---- Apply --------------------------------------------------------------------------------------------------------

export interface ApplyConflict {
  /** The manager's identity key (see managerKey). */
  managerKey: string;
  /** How kube-apiserver names it, e.g. "kubectl-client-side-apply" using apps/v1. */
  manager: string;
  path: FieldPath;
}

/** 409 Conflict with one FieldManagerConflict cause per field, worded like kube-apiserver's. */
export class ApplyConflictError extends StatusError {
  readonly conflicts: ApplyConflict[];

  constructor(conflicts: ApplyConflict[]) {
    const causes: StatusCause[] = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.manager}`, field: pathString(c.path) }));
    super(409, 'Conflict', conflictMessage(conflicts), { causes });
    this.conflicts = conflicts;
  }
}

function conflictMessage(conflicts: ApplyConflict[]): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${conflicts[0].manager}: ${pathString(conflicts[0].path)}`;
  const byManager = new Map<string, ApplyConflict[]>();
  for (const c of conflicts) byManager.set(c.managerKey, [...(byManager.get(c.managerKey) ?? []), c]);
  const lines: string[] = [];
  for (const key of [...byManager.keys()].sort()) {
    const cs = byManager.get(key)!;
    lines.push(`conflicts with ${cs[0].manager}:`);
    for (const c of cs) lines.push(`- ${pathString(c.path)}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

export interface ApplyOptions extends ManagedFieldsOptions {
  subresource?: string;
}

export interface ApplyResult {
  /** The object to store (managedFields set); for a create, still to be given uid, timestamps and defaults. */
  object: KubeObject;
  /** False when the apply changed nothing, managedFields included. */
  changed: boolean;
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined: the object does not exist and is created).
 * `apiVersion` is the version the request addressed. Throws ApplyConflictError (409) on conflicts and
 * PatchError (400) for an unusable configuration. The result's metadata.resourceVersion, when the configuration
 * set one, is a precondition for the caller to check, as on update.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  force: boolean,
  schema: Schema | undefined,
  apiVersion: string,
  now: Date | string,
  opts: ApplyOptions = {},
): ApplyResult {
  const w = opts.walker ?? registryWalker;
  const filter = opts.filter ?? defaultFieldFilter(opts.subresource);
  const time = formatTime(now);
  if (!isJsonObject(applied)) throw patchBadRequest('apply patch must be an object');
  if (isJsonObject(applied.metadata) && applied.metadata.managedFields !== undefined && applied.metadata.managedFields !== null) {
    throw patchBadRequest('metadata.managedFields must be nil');
  }
  if (applied.apiVersion !== apiVersion) {
    throw patchBadRequest(`Incorrect version specified in apply patch. Specified patch version: ${String(applied.apiVersion ?? '')}, expected: ${apiVersion}`);
  }
  checkDuplicates(w, applied as unknown as JsonObject, schema);
  let managed: Managers;
  try {
    managed = decodeManagers(live?.metadata?.managedFields);
  } catch (e) {
    throw patchInternal(`failed to decode managed fields: ${(e as Error).message}`);
  }
  const name = manager || 'unknown';
  const attempt = (f: boolean) => applyOnce(w, schema, filter, live, applied, cloneManagers(managed), name, f, apiVersion, opts.subresource, time);

  let result: KubeObject;
  try {
    result = attempt(force);
  } catch (e) {
    // kubectl moving from client-side to server-side apply: fields whose live value is still what the
    // last-applied annotation says may be taken over without --force-conflicts.
    if (!(e instanceof ApplyConflictError) || name !== 'kubectl') throw e;
    const allowed = allowedFromLastApplied(w, schema, live, apiVersion);
    if (!allowed) throw e;
    const rest = e.conflicts.filter((c) => !allowed.has(c.path));
    if (rest.length > 0) throw new ApplyConflictError(rest);
    result = attempt(true);
  }

  if (name === 'kubectl') refreshLastApplied(result, applied);
  return { object: result, changed: !live || !deepEqual(result, live) };
}

function applyOnce(
  w: SchemaWalker,
  schema: Schema | undefined,
  filter: FieldFilter,
  live: KubeObject | undefined,
  applied: KubeObject,
  managed: Managers,
  manager: string,
  force: boolean,
  apiVersion: string,
  subresource: string | undefined,
  time: string,
): KubeObject {
  const liveV = live ? withoutManagedFields(live) : {};
  if (live && managed.size === 0) {
    // Fields set before anyone applied belong to a placeholder manager, so an apply cannot silently drop them.
    recordUpdate(w, schema, filter, managed, undefined, liveV, BEFORE_FIRST_APPLY, apiVersion, subresource, time);
  }
  const appliedV = applied as unknown as JsonObject;
  let merged = (mergeValues(w, liveV, appliedV, schema) ?? {}) as JsonObject;

  const key = managerKey(manager, 'Apply', apiVersion, subresource);
  const prev = managed.get(key);
  const set = filter(toFieldSet(w, withoutManagedFields(appliedV), schema));
  managed.set(key, { manager, operation: 'Apply', apiVersion, subresource, time: prev?.time, set });
  if (prev && !prev.set.isEmpty()) merged = prune(w, schema, merged, managed, prev.set);
  merged = dropNulls(merged) as JsonObject;
  keepServerOwned(merged, liveV, subresource);

  const cmp = filterComparison(compareValues(w, liveV, merged, schema), filter);
  const changed = cmp.modified.union(cmp.added);
  const conflicts: ApplyConflict[] = [];
  for (const [k, m] of managed) {
    if (k === key) continue;
    const c = m.set.intersection(changed);
    for (const path of c.paths()) conflicts.push({ managerKey: k, manager: describeManager(m), path });
  }
  if (!force && conflicts.length > 0) throw new ApplyConflictError(conflicts);
  for (const [k, m] of managed) {
    if (k !== key) m.set = m.set.difference(changed).difference(cmp.removed);
    if (m.set.isEmpty()) managed.delete(k);
  }

  const noop = deepEqual(liveV, merged);
  const own = managed.get(key);
  if (own) {
    if (!noop) own.time = time;
    own.set = own.set.difference(STRIPPED);
    if (own.set.isEmpty()) managed.delete(key);
  }

  const result = (noop ? liveV : merged) as unknown as KubeObject;
  if (!isJsonObject(result.metadata)) result.metadata = {};
  const mf = encodeManagers(managed);
  if (mf) result.metadata.managedFields = mf;
  else delete result.metadata.managedFields;
  return result;
}

/** Metadata only the server sets; an applied configuration cannot change it. */
const SYSTEM_METADATA = ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'];

/**
 * Puts back what this endpoint does not write: status on the main resource (spec on /status) and system
 * metadata, as kube-apiserver's update strategies do after the merge.
 */
function keepServerOwned(merged: JsonObject, live: JsonObject, subresource: string | undefined): void {
  for (const f of ignoredTopLevel(subresource)) {
    if (live[f] !== undefined) merged[f] = structuredClone(live[f]);
    else delete merged[f];
  }
  if (!isJsonObject(merged.metadata)) merged.metadata = {};
  const mm = merged.metadata;
  const lm = isJsonObject(live.metadata) ? live.metadata : {};
  for (const f of SYSTEM_METADATA) {
    if (lm[f] !== undefined) mm[f] = structuredClone(lm[f]);
    else delete mm[f];
  }
}

/** Removes what `lastSet` owned and nobody owns any more, leaving fields no applier ever owned in place. */
function prune(w: SchemaWalker, schema: Schema | undefined, merged: JsonObject, managed: Managers, lastSet: FieldSet): JsonObject {
  const e = (s: FieldSet) => ensureNamedFieldsAreMembers(w, s, schema);
  const remove = (s: FieldSet) => (removeItems(w, merged, s, schema) ?? {}) as JsonObject;
  let all = new FieldSet();
  for (const m of managed.values()) all = all.union(m.set);
  const mergedSet = toFieldSet(w, merged, schema);
  const firstCut = remove(e(lastSet));
  const ownedBack = remove(e(mergedSet).difference(e(toFieldSet(w, firstCut, schema)).union(e(all))));
  const removed = e(mergedSet).difference(e(toFieldSet(w, ownedBack, schema))).intersection(e(lastSet));
  return remove(removed);
}

function allowedFromLastApplied(w: SchemaWalker, schema: Schema | undefined, live: KubeObject | undefined, apiVersion: string): FieldSet | undefined {
  const text = live?.metadata?.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!text) return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(last) || last.apiVersion !== apiVersion) return undefined;
  const cmp = compareValues(w, last, withoutManagedFields(live), schema);
  return toFieldSet(w, last, schema).difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
}

/** Manager "kubectl" keeps an existing last-applied annotation equal to what it applies. */
function refreshLastApplied(result: KubeObject, applied: KubeObject): void {
  const anns = result.metadata.annotations;
  if (!anns || typeof anns[LAST_APPLIED_ANNOTATION] !== 'string' || anns[LAST_APPLIED_ANNOTATION] === '') return;
  const copy = structuredClone(applied);
  if (isJsonObject(copy.metadata) && isJsonObject(copy.metadata.annotations)) delete copy.metadata.annotations[LAST_APPLIED_ANNOTATION];
  anns[LAST_APPLIED_ANNOTATION] = goJson(copy as unknown as JsonObject) + '\n';
}

function dropNulls(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isJsonObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else v[k] = dropNulls(x);
    }
  }
  return v;
}

