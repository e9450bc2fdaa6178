import type { JsonObject, JsonValue } from '../object.js';
import type { Schema } from '../schema/types.js';
import { patchBadRequest, patchInternal, patchUnprocessable, type PatchError } from './errors.js';
import { cloneJson, goTypeName, isJsonObject } from './json.js';
import { childSchema, itemSchema, patchMeta, registryWalker, type PatchMeta, type SchemaWalker } from './walker.js';

// Strategic merge patch, applied the way kube-apiserver applies it (k8s.io/apimachinery strategicpatch, server
// side: parallel lists merged, unmatched nulls ignored). Behaviour learnt from upstream and from the bodies kubectl
// sends (shared/kubectl-compat.md A11):
// - maps merge recursively and `null` deletes a key;
// - lists whose field has patch strategy `merge` merge element-wise by the merge key (lists of maps) or as a set
//   union (lists of primitives); other lists are replaced;
// - `$patch: replace|delete` on a map, `$patch: delete|replace` on a keyed list element;
// - `$setElementOrder/<field>` fixes the final order, `$deleteFromPrimitiveList/<field>` removes primitives,
//   `$retainKeys` clears every key of the original map it does not list.
// Errors carry kube-apiserver's status codes: malformed directives 400, lists of lists and retainKeys mismatches
// 422, anything else 500 with the raw message.

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList';

const ERR_PRIMITIVE_LIST = 'invalid patch format of primitive list';
const ERR_RETAIN_KEYS = 'invalid patch format of retainKeys';
const ERR_SET_ORDER = 'invalid patch format of setElementOrder list';

type Kind = 'map' | 'list' | 'string' | 'number' | 'boolean' | 'null';

interface Ctx {
  w: SchemaWalker;
}

/**
 * Applies `patch` to a copy of `original`. `schema` is the (raw) schema of the object's kind, e.g.
 * schemaForKind('apps', 'v1', 'Deployment'); without one every list is replaced, as for an unknown type.
 */
export function strategicMergePatch(original: JsonObject, patch: unknown, schema: Schema | undefined, walker: SchemaWalker = registryWalker): JsonObject {
  if (!isJsonObject(patch)) {
    throw patchBadRequest(`json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value of type map[string]interface {}`);
  }
  const ctx: Ctx = { w: walker };
  const merged = mergeMap(cloneJson(original), cloneJson(patch), schema, ctx);
  return cleanup(merged) as JsonObject;
}

// ---- maps -----------------------------------------------------------------------------------------------------

function mergeMap(original: JsonObject | undefined, patch: JsonObject, schema: Schema | undefined, ctx: Ctx): JsonObject {
  if (Object.prototype.hasOwnProperty.call(patch, DIRECTIVE)) return mapDirective(patch);
  const orig = original ?? {};
  applyRetainKeys(orig, patch);
  applySetElementOrder(orig, patch, schema, ctx);

  for (const key of Object.keys(patch)) {
    const patchV = patch[key];
    let k = key;
    let isDeleteList = false;
    if (key.startsWith(DELETE_PRIMITIVES)) {
      k = directiveTarget(key, DELETE_PRIMITIVES, ERR_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[k];
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(orig, k) || kindOf(orig[k]) !== kindOf(patchV)) {
      if (!isDeleteList) takePatchValue(orig, k, patchV);
      continue;
    }
    const origV = orig[k];
    const sub = childSchema(ctx.w, schema, k);
    if (isJsonObject(origV) && isJsonObject(patchV)) {
      const pm = meta(ctx, sub);
      orig[k] = pm.strategy === 'replace' ? patchV : mergeMap(origV, patchV, sub, ctx);
    } else if (Array.isArray(origV) && Array.isArray(patchV)) {
      const pm = meta(ctx, sub);
      orig[k] = pm.strategy === 'merge' || isDeleteList ? mergeSlice(origV, patchV, itemSchema(ctx.w, sub), pm.mergeKey, isDeleteList, ctx, k) : patchV;
    } else {
      orig[k] = patchV;
    }
  }
  return orig;
}

function mapDirective(patch: JsonObject): JsonObject {
  const d = patch[DIRECTIVE];
  if (d === 'replace') {
    delete patch[DIRECTIVE];
    return patch;
  }
  if (d === 'delete') return {};
  throw badPatchType(d, patch);
}

/** A patch value for a key the original lacks (or holds with another type): nulls and directives drop out. */
function takePatchValue(orig: JsonObject, k: string, patchV: JsonValue): void {
  discardNulls(patchV);
  const [v, keep] = removeDirectives(patchV);
  if (keep) orig[k] = v;
  else delete orig[k];
}

function applyRetainKeys(orig: JsonObject, patch: JsonObject): void {
  if (!Object.prototype.hasOwnProperty.call(patch, RETAIN_KEYS)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw patchBadRequest(ERR_RETAIN_KEYS);
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_PRIMITIVES) || k.startsWith(SET_ORDER)) continue;
    if (!keep.has(k)) throw patchBadRequest(ERR_RETAIN_KEYS);
  }
  for (const k of Object.keys(orig)) if (!keep.has(k)) delete orig[k];
}

/** Merges every list named by a `$setElementOrder/<field>` directive and puts it in the requested order. */
function applySetElementOrder(orig: JsonObject, patch: JsonObject, schema: Schema | undefined, ctx: Ctx): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw badArgType([], order);
    const field = directiveTarget(key, SET_ORDER, ERR_SET_ORDER);
    const hasOrig = Object.prototype.hasOwnProperty.call(orig, field);
    const hasPatch = Object.prototype.hasOwnProperty.call(patch, field);
    const origList = hasOrig ? orig[field] : undefined;
    const patchList = hasPatch ? patch[field] : undefined;
    if (hasOrig && !Array.isArray(origList)) throw badArgType([], origList);
    if (hasPatch && !Array.isArray(patchList)) throw badArgType([], patchList);
    const sub = childSchema(ctx.w, schema, field);
    const pm = meta(ctx, sub);
    validateAgainstOrder((patchList as JsonValue[] | undefined) ?? [], order, pm.mergeKey);

    let merged: JsonValue[];
    const seen: ListView = { view: (origList as JsonValue[] | undefined) ?? [] };
    if (hasOrig && hasPatch) {
      merged = pm.strategy === 'merge' ? mergeSlice(origList as JsonValue[], patchList as JsonValue[], itemSchema(ctx.w, sub), pm.mergeKey, false, ctx, field, seen) : (patchList as JsonValue[]);
    } else if (hasOrig) {
      merged = origList as JsonValue[];
    } else if (hasPatch) {
      merged = removeDirectives(patchList as JsonValue[])[0] as JsonValue[];
    } else {
      continue;
    }
    const kind = elementKind([(origList as JsonValue[] | undefined) ?? [], (patchList as JsonValue[] | undefined) ?? []]);
    if (kind !== undefined) {
      const [inOrder, serverOnly] = partition(merged, order, pm.mergeKey);
      merged = normalizeOrder(inOrder, serverOnly, order, seen.view, pm.mergeKey, kind);
    }
    orig[field] = merged;
    delete patch[field];
  }
}

/** Every non-deleted element of the patch list must appear in the order list, in the same relative order. */
function validateAgainstOrder(patchList: JsonValue[], order: JsonValue[], mergeKey: string | undefined): void {
  if (order.length === 0 || patchList.length === 0) return;
  const items = mergeKey ? patchList.filter((v) => !(asMap(v)[DIRECTIVE] === 'delete')) : patchList;
  let pi = 0;
  let oi = 0;
  while (pi < items.length && oi < order.length) {
    if (isJsonObject(items[pi]) && Object.prototype.hasOwnProperty.call(items[pi], DIRECTIVE)) {
      pi++;
      continue;
    }
    if (mergeKeyEqual(items[pi], order[oi], mergeKey)) pi++;
    oi++;
  }
  if (pi < items.length && oi >= order.length) {
    throw patchInternal(`The order in patch list:\n${goPrint(patchList)}\n doesn't match ${SET_ORDER} list:\n${goPrint(order)}\n`);
  }
}

function mergeKeyEqual(left: JsonValue, right: JsonValue, mergeKey: string | undefined): boolean {
  if (!mergeKey) return left === right;
  const l = asMap(left);
  const r = asMap(right);
  if (!Object.prototype.hasOwnProperty.call(l, mergeKey)) throw noMergeKey(l, mergeKey);
  if (!Object.prototype.hasOwnProperty.call(r, mergeKey)) throw noMergeKey(r, mergeKey);
  return l[mergeKey] === r[mergeKey];
}

// ---- lists ----------------------------------------------------------------------------------------------------

/**
 * What the caller's view of the original list shows after a merge. Upstream deletes and appends in the original
 * list's backing array, so a caller still holding the original (the `$setElementOrder` handling) sees the list
 * after deletions, padded with appended elements up to its original length. That view decides where new elements
 * land relative to server-only ones, so kite reproduces it.
 */
interface ListView {
  view: JsonValue[];
}

function mergeSlice(original: JsonValue[], patch: JsonValue[], items: Schema | undefined, mergeKey: string | undefined, isDeleteList: boolean, ctx: Ctx, field: string, out?: ListView): JsonValue[] {
  if (out) out.view = original;
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind([original, patch]) as Kind;
  if (kind !== 'map') {
    if (isDeleteList) return original.filter((v) => !patch.includes(v));
    const merged = dedupe([...original, ...patch]);
    const [inPatch, serverOnly] = partition(merged, patch, undefined);
    return normalizeOrder(inPatch, serverOnly, patch, original, undefined, kind);
  }
  if (!mergeKey) throw patchInternal(`cannot merge lists without merge key for ${field}`);
  const backing = original.slice();
  const [serverOrder, patchItems] = applyListDirectives(backing, patch, mergeKey);
  const merged = mergeByKey(serverOrder.slice(), patchItems, mergeKey, items, ctx, replacing(patch) ? [] : backing);
  if (out) out.view = backing;
  const [inPatch, serverOnly] = partition(merged, patchItems, mergeKey);
  return normalizeOrder(inPatch, serverOnly, patchItems, serverOrder, mergeKey, kind);
}

/**
 * Handles `$patch` elements: deletions by merge key, or `replace` which makes the rest of the patch the list.
 * Deletions shift `backing` in place (see ListView); returns the list to merge into and the plain patch elements.
 */
function applyListDirectives(backing: JsonValue[], patch: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const plain: JsonValue[] = [];
  let replace = false;
  let length = backing.length;
  for (const v of patch) {
    const m = asMap(v);
    if (!Object.prototype.hasOwnProperty.call(m, DIRECTIVE)) {
      plain.push(v);
      continue;
    }
    const d = m[DIRECTIVE];
    if (d === 'delete') {
      if (!Object.prototype.hasOwnProperty.call(m, mergeKey)) throw noMergeKey(m, mergeKey);
      for (;;) {
        const i = backing.slice(0, length).findIndex((item) => asMap(item, 'value for key is not a map')[mergeKey] === m[mergeKey]);
        if (i < 0) break;
        backing.copyWithin(i, i + 1, length);
        length--;
      }
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      throw patchInternal('merging lists cannot yet be specified in the patch');
    } else {
      throw badPatchType(d, m);
    }
  }
  return replace ? [plain, []] : [backing.slice(0, length), plain];
}

function mergeByKey(list: JsonValue[], patch: JsonValue[], mergeKey: string, items: Schema | undefined, ctx: Ctx, backing: JsonValue[]): JsonValue[] {
  for (const v of patch) {
    const pm = asMap(v);
    if (!Object.prototype.hasOwnProperty.call(pm, mergeKey)) throw noMergeKey(pm, mergeKey);
    const i = list.findIndex((o) => asMap(o, 'value for key is not a map')[mergeKey] === pm[mergeKey]);
    if (i >= 0) list[i] = mergeMap(asMap(list[i]), pm, items, ctx);
    else list.push(v);
  }
  // Merged and appended elements occupy the backing array up to its length; what lies beyond stays stale.
  for (let j = 0; j < Math.min(list.length, backing.length); j++) backing[j] = list[j];
  return list;
}

/** A replaced list is built anew: nothing more lands in the original's backing array. */
function replacing(patch: JsonValue[]): boolean {
  return patch.some((v) => isJsonObject(v) && v[DIRECTIVE] === 'replace');
}

/** Splits `list` into the elements present in `by` and the rest (server-only elements). */
function partition(list: JsonValue[], by: JsonValue[], mergeKey: string | undefined): [JsonValue[], JsonValue[]] {
  const inside: JsonValue[] = [];
  const outside: JsonValue[] = [];
  for (const v of list) {
    let found: boolean;
    if (mergeKey && isJsonObject(v)) {
      if (!Object.prototype.hasOwnProperty.call(v, mergeKey)) throw noMergeKey(v, mergeKey);
      found = by.some((b) => asMap(b, 'value for key is not a map')[mergeKey] === v[mergeKey]);
    } else {
      found = by.includes(v);
    }
    (found ? inside : outside).push(v);
  }
  return [inside, outside];
}

/**
 * Sorts patch elements by the patch order and server-only elements by the live order, then interleaves them,
 * keeping each group's relative order and using the live order to place server-only elements.
 */
function normalizeOrder(patchItems: JsonValue[], serverOnly: JsonValue[], patchOrder: JsonValue[], serverOrder: JsonValue[], mergeKey: string | undefined, kind: Kind): JsonValue[] {
  const right = sortByOrder(patchItems, patchOrder, mergeKey, kind);
  const left = sortByOrder(serverOnly, serverOrder, mergeKey, kind);
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function sortByOrder(list: JsonValue[], order: JsonValue[], mergeKey: string | undefined, kind: Kind): JsonValue[] {
  let toSort = list;
  let deletions: JsonValue[] = [];
  if (kind === 'map') {
    for (const v of [...list, ...order]) {
      const m = asMap(v);
      if (mergeKey === undefined || !Object.prototype.hasOwnProperty.call(m, mergeKey)) throw noMergeKey(m, mergeKey ?? '');
    }
    toSort = list.filter((v) => asMap(v)[DIRECTIVE] !== 'delete');
    deletions = list.filter((v) => asMap(v)[DIRECTIVE] === 'delete');
  }
  // Elements missing from `order` keep their relative position after the ordered ones.
  const ranked = toSort.map((v, pos) => ({ v, pos, idx: indexIn(order, v, mergeKey, kind) }));
  ranked.sort((a, b) => {
    const ai = a.idx < 0 ? Number.MAX_SAFE_INTEGER : a.idx;
    const bi = b.idx < 0 ? Number.MAX_SAFE_INTEGER : b.idx;
    return ai - bi || a.pos - b.pos;
  });
  return [...ranked.map((r) => r.v), ...deletions];
}

function indexIn(list: JsonValue[], v: JsonValue, mergeKey: string | undefined, kind: Kind): number {
  if (kind === 'map' && mergeKey) {
    const want = isJsonObject(v) ? v[mergeKey] : undefined;
    return list.findIndex((item) => (isJsonObject(item) ? item[mergeKey] : undefined) === want);
  }
  return list.indexOf(v);
}

function dedupe(list: JsonValue[]): JsonValue[] {
  const out: JsonValue[] = [];
  for (const v of list) if (!out.includes(v)) out.push(v);
  return out;
}

/** The common kind of the elements of several lists, or undefined when they are all empty. */
function elementKind(lists: JsonValue[][]): Kind | undefined {
  let kind: Kind | undefined;
  for (const l of lists) {
    for (const v of l) {
      const k = kindOf(v);
      if (kind === undefined) {
        if (k === 'list') throw patchUnprocessable('lists of lists are not supported');
        kind = k;
      } else if (k !== kind) {
        throw patchInternal(`list element types are not identical: ${goPrint(lists)}`);
      }
    }
  }
  return kind;
}

// ---- helpers --------------------------------------------------------------------------------------------------

function meta(ctx: Ctx, s: Schema | undefined): PatchMeta {
  try {
    return patchMeta(ctx.w, s);
  } catch (e) {
    throw patchInternal((e as Error).message);
  }
}

function kindOf(v: JsonValue | undefined): Kind {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'map';
  return typeof v as 'string' | 'number' | 'boolean';
}

function directiveTarget(key: string, prefix: string, message: string): string {
  const slash = key.indexOf('/');
  if (slash < 0 || key.slice(0, slash) !== prefix) throw patchBadRequest(message);
  return key.slice(slash + 1);
}

function asMap(v: JsonValue, message?: string): JsonObject {
  if (isJsonObject(v)) return v;
  throw message ? patchInternal(message) : badArgType({}, v);
}

/** Drops every null-valued key, recursively (patch values for keys the original lacks). */
function discardNulls(v: JsonValue): void {
  if (Array.isArray(v)) {
    for (const x of v) discardNulls(x);
  } else if (isJsonObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else discardNulls(x);
    }
  }
}

/** Removes maps carrying `$patch` from a value; the flag says whether the value itself survives. */
function removeDirectives(v: JsonValue): [JsonValue, boolean] {
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const [y, keep] = removeDirectives(x);
      if (keep) out.push(y);
    }
    return [out, true];
  }
  if (isJsonObject(v)) {
    if (Object.prototype.hasOwnProperty.call(v, DIRECTIVE)) return [null, false];
    for (const [k, x] of Object.entries(v)) {
      const [y, keep] = removeDirectives(x);
      if (keep) v[k] = y;
      else delete v[k];
    }
  }
  return [v, true];
}

/**
 * Directives and nulls never reach a stored object: decoding the merged map into a typed object drops them in
 * kube-apiserver, and kite keeps objects as JSON.
 */
function cleanup(v: JsonValue): JsonValue {
  if (Array.isArray(v)) {
    return v.filter((x) => !(isJsonObject(x) && Object.prototype.hasOwnProperty.call(x, DIRECTIVE))).map(cleanup);
  }
  if (isJsonObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null || k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER + '/') || k.startsWith(DELETE_PRIMITIVES + '/')) delete v[k];
      else v[k] = cleanup(x);
    }
  }
  return v;
}

function goPrint(v: unknown): string {
  return JSON.stringify(v);
}

function badPatchType(d: JsonValue | undefined, m: JsonObject): PatchError {
  return patchInternal(`unknown patch type: ${String(d)} in map: ${goPrint(m)}`);
}

function noMergeKey(m: JsonObject, key: string): PatchError {
  return patchInternal(`map: ${goPrint(m)} does not contain declared merge key: ${key}`);
}

function badArgType(expected: unknown, actual: unknown): PatchError {
  return patchInternal(`expected a ${goTypeName(expected)}, but received a ${goTypeName(actual)}`);
}
