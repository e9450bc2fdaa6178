import type { JsonObject, JsonValue } from '../object.js';
import type { Schema } from '../schema/types.js';
import { patchInternal } from './errors.js';
import { FieldSet, fieldElement, indexElement, keyElement, pathString, valueElement, type FieldPath, type PathElement } from './fieldset.js';
import { deepEqual, isJsonObject } from './json.js';
import { childSchema, extension, isNamedField, itemSchema, shapeOf, type SchemaWalker, type Shape } from './walker.js';

// Structured-merge operations over JSON values guided by the schema, the way server-side apply sees objects:
// scalars and atomic maps/lists are leaves, structs and maps are walked field by field, keyed lists (list-type
// map) by their key fields and sets (list-type set) by value. Behaviour follows sigs.k8s.io/structured-merge-diff.

type ListShape = Extract<Shape, { kind: 'list' }>;

/** The path element naming a list element: its keys, its value, or (atomic lists) its index. */
function listElement(w: SchemaWalker, shape: ListShape, item: JsonValue, index: number): PathElement {
  if (shape.listType === 'set') return valueElement(item);
  if (shape.listType === 'map' && isJsonObject(item)) {
    const key: JsonObject = {};
    for (const k of shape.keys) {
      if (Object.prototype.hasOwnProperty.call(item, k) && item[k] !== null) key[k] = item[k];
      else {
        // A key field left out takes its declared default (a container port's protocol is TCP).
        const def = extension(w, childSchema(w, shape.items, k), 'default');
        if (def !== undefined) key[k] = def as JsonValue;
      }
    }
    if (Object.keys(key).length > 0) return keyElement(key);
  }
  return indexElement(index);
}

// ---- ToFieldSet -----------------------------------------------------------------------------------------------

/** Every field a value sets: leaves, list elements, atomic values, and empty or null fields. */
export function toFieldSet(w: SchemaWalker, value: JsonValue, schema: Schema | undefined): FieldSet {
  const set = new FieldSet();
  visitSet(w, value, schema, [], set);
  return set;
}

function visitSet(w: SchemaWalker, value: JsonValue, schema: Schema | undefined, path: FieldPath, set: FieldSet): void {
  const shape = shapeOf(w, schema, value);
  if (shape.kind === 'scalar') {
    set.insert(path);
    return;
  }
  if (shape.kind === 'list') {
    const list = value as JsonValue[];
    if (shape.listType === 'atomic') {
      set.insert(path);
      return;
    }
    const seen = new Set<PathElement>();
    const dups = new Set<PathElement>();
    list.forEach((item, i) => {
      const pe = listElement(w, shape, item, i);
      if (seen.has(pe)) dups.add(pe);
      seen.add(pe);
    });
    list.forEach((item, i) => {
      const pe = listElement(w, shape, item, i);
      const p = [...path, pe];
      // Duplicated elements can only be owned as a whole.
      if (!dups.has(pe)) visitSet(w, item, shape.items, p, set);
      set.insert(p);
    });
    return;
  }
  if (shape.atomic) {
    set.insert(path);
    return;
  }
  for (const [k, v] of Object.entries(value as JsonObject)) {
    const p = [...path, fieldElement(k)];
    visitSet(w, v, childSchema(w, shape.schema, k), p, set);
    if (v === null || (isJsonObject(v) && Object.keys(v).length === 0) || !isNamedField(w, shape.schema, k)) set.insert(p);
  }
}

/** Adds, as members, the struct fields under which the set has members (what removal must consider whole). */
export function ensureNamedFieldsAreMembers(w: SchemaWalker, set: FieldSet, schema: Schema | undefined): FieldSet {
  const out = new FieldSet();
  for (const m of set.members) out.members.add(m);
  for (const [pe, child] of set.children) {
    let sub: Schema | undefined;
    if (pe.startsWith('f:')) {
      const name = pe.slice(2);
      if (isNamedField(w, schema, name)) out.members.add(pe);
      sub = childSchema(w, schema, name);
    } else {
      sub = itemSchema(w, schema);
    }
    out.children.set(pe, ensureNamedFieldsAreMembers(w, child, sub));
  }
  return out;
}

// ---- Compare --------------------------------------------------------------------------------------------------

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** What changed from `lhs` to `rhs`, as field sets. */
export function compareValues(w: SchemaWalker, lhs: JsonValue, rhs: JsonValue, schema: Schema | undefined): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  visitCompare(w, lhs, rhs, schema, [], c);
  return c;
}

function compareLeaf(lhs: JsonValue | undefined, rhs: JsonValue | undefined, path: FieldPath, c: Comparison): void {
  if (lhs === undefined) c.added.insert(path);
  else if (rhs === undefined) c.removed.insert(path);
  else if (!deepEqual(lhs, rhs)) c.modified.insert(path);
}

function visitCompare(w: SchemaWalker, lhs: JsonValue | undefined, rhs: JsonValue | undefined, schema: Schema | undefined, path: FieldPath, c: Comparison): void {
  if (lhs === undefined && rhs === undefined) return;
  // A null list or map counts as present and empty: its elements are added or removed, not the field itself.
  if (lhs === null && rhs !== null && rhs !== undefined && typeof rhs === 'object') {
    visitCompare(w, Array.isArray(rhs) ? [] : {}, rhs, schema, path, c);
    return;
  }
  if (rhs === null && lhs !== null && lhs !== undefined && typeof lhs === 'object') {
    visitCompare(w, lhs, Array.isArray(lhs) ? [] : {}, schema, path, c);
    return;
  }
  const ls = lhs === undefined ? undefined : shapeOf(w, schema, lhs);
  const rs = rhs === undefined ? undefined : shapeOf(w, schema, rhs);
  const shape = (rs ?? ls)!;
  if ((ls && rs && ls.kind !== rs.kind) || shape.kind === 'scalar') {
    compareLeaf(lhs, rhs, path, c);
    return;
  }
  if (shape.kind === 'list') {
    const l = (lhs as JsonValue[] | undefined) ?? [];
    const r = (rhs as JsonValue[] | undefined) ?? [];
    if (shape.listType === 'atomic' || (l.length === 0 && r.length === 0)) {
      compareLeaf(lhs, rhs, path, c);
      return;
    }
    compareListItems(w, shape, l, r, path, c);
  } else {
    const l = (lhs as JsonObject | undefined) ?? {};
    const r = (rhs as JsonObject | undefined) ?? {};
    if (shape.atomic || (Object.keys(l).length === 0 && Object.keys(r).length === 0)) {
      compareLeaf(lhs, rhs, path, c);
      return;
    }
    const keys = new Set([...Object.keys(l), ...Object.keys(r)]);
    for (const k of keys) {
      // An unchanged field has nothing to report below it: a plain equality walk is far cheaper than the
      // typed one (a write usually changes a few fields of a large object).
      if (l[k] !== undefined && r[k] !== undefined && deepEqual(l[k], r[k])) continue;
      visitCompare(w, l[k], r[k], childSchema(w, shape.schema, k), [...path, fieldElement(k)], c);
    }
  }
  if (path.length > 0) {
    if (lhs === undefined) c.added.insert(path);
    else if (rhs === undefined) c.removed.insert(path);
  }
}

function compareListItems(w: SchemaWalker, shape: ListShape, l: JsonValue[], r: JsonValue[], path: FieldPath, c: Comparison): void {
  const order: PathElement[] = [];
  const lv = new Map<PathElement, JsonValue[]>();
  const rv = new Map<PathElement, JsonValue[]>();
  l.forEach((item, i) => {
    const pe = listElement(w, shape, item, i);
    if (!lv.has(pe)) {
      lv.set(pe, []);
      order.push(pe);
    }
    lv.get(pe)!.push(item);
  });
  r.forEach((item, i) => {
    const pe = listElement(w, shape, item, i);
    if (!rv.has(pe)) {
      rv.set(pe, []);
      if (!lv.has(pe)) order.push(pe);
    }
    rv.get(pe)!.push(item);
  });
  for (const pe of order) {
    const ll = lv.get(pe) ?? [];
    const rl = rv.get(pe) ?? [];
    const p = [...path, pe];
    if (ll.length === 1 && rl.length === 1 && deepEqual(ll[0], rl[0])) continue;
    if (ll.length <= 1 && rl.length <= 1) visitCompare(w, ll[0], rl[0], shape.items, p, c);
    else if (ll.length >= 2 && rl.length >= 2) {
      if (!deepEqual(ll, rl)) c.modified.insert(p);
    } else if (ll.length >= 2) {
      if (rl.length > 0) visitCompare(w, undefined, rl[0], shape.items, p, c);
      c.removed.insert(p);
    } else {
      if (ll.length > 0) visitCompare(w, ll[0], undefined, shape.items, p, c);
      c.added.insert(p);
    }
  }
}

// ---- Merge ----------------------------------------------------------------------------------------------------

/** Merges an applied configuration (`rhs`) into the live object (`lhs`): rhs wins at every leaf. */
export function mergeValues(w: SchemaWalker, lhs: JsonValue | undefined, rhs: JsonValue | undefined, schema: Schema | undefined): JsonValue | undefined {
  return visitMerge(w, lhs, rhs, schema, []);
}

function visitMerge(w: SchemaWalker, lhs: JsonValue | undefined, rhs: JsonValue | undefined, schema: Schema | undefined, path: FieldPath): JsonValue | undefined {
  if (rhs === undefined) return lhs === undefined ? undefined : structuredClone(lhs);
  if (lhs === undefined) return structuredClone(rhs);
  const ls = shapeOf(w, schema, lhs);
  const rs = shapeOf(w, schema, rhs);
  if (ls.kind !== rs.kind || rs.kind === 'scalar') return structuredClone(rhs);
  if (rs.kind === 'list') {
    const l = lhs as JsonValue[];
    const r = rhs as JsonValue[];
    if (rs.listType === 'atomic' || (l.length === 0 && r.length === 0)) return structuredClone(rhs);
    return mergeList(w, rs, l, r, path);
  }
  const l = lhs as JsonObject;
  const r = rhs as JsonObject;
  if (rs.atomic || (Object.keys(l).length === 0 && Object.keys(r).length === 0)) return structuredClone(rhs);
  const out: JsonObject = {};
  for (const k of new Set([...Object.keys(l), ...Object.keys(r)])) {
    const v = visitMerge(w, l[k], r[k], childSchema(w, rs.schema, k), [...path, fieldElement(k)]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Rejects an applied configuration whose keyed lists or sets repeat an element. */
export function checkDuplicates(w: SchemaWalker, v: JsonValue, schema: Schema | undefined, path: FieldPath = []): void {
  const shape = shapeOf(w, schema, v);
  if (shape.kind === 'list') {
    if (shape.listType === 'atomic') return;
    const seen = new Set<PathElement>();
    (v as JsonValue[]).forEach((item, i) => {
      const pe = listElement(w, shape, item, i);
      if (seen.has(pe)) throw duplicateEntries(path, pe);
      seen.add(pe);
      checkDuplicates(w, item, shape.items, [...path, pe]);
    });
  } else if (shape.kind === 'map' && !shape.atomic) {
    for (const [k, x] of Object.entries(v as JsonObject)) checkDuplicates(w, x, childSchema(w, shape.schema, k), [...path, fieldElement(k)]);
  }
}

function duplicateEntries(path: FieldPath, pe: PathElement) {
  return patchInternal(`failed to create typed patch object: ${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
}

/**
 * Merges two keyed lists. Live elements the configuration does not mention keep their place; the configuration's
 * elements come in the configuration's order.
 */
function mergeList(w: SchemaWalker, shape: ListShape, l: JsonValue[], r: JsonValue[], path: FieldPath): JsonValue[] {
  const rPEs = r.map((item, i) => listElement(w, shape, item, i));
  const rObs = new Map<PathElement, JsonValue>();
  rPEs.forEach((pe, i) => {
    if (rObs.has(pe)) throw duplicateEntries(path, pe);
    rObs.set(pe, r[i]);
  });
  const lPEs = l.map((item, i) => listElement(w, shape, item, i));
  const lObs = new Map<PathElement, JsonValue | undefined>();
  // A duplicated live element has no single value to merge with.
  lPEs.forEach((pe, i) => lObs.set(pe, lObs.has(pe) ? undefined : l[i]));

  const shared = rPEs.filter((pe) => lObs.has(pe));
  let nextShared = shared.shift();
  const merged = new Set<PathElement>();
  const out: JsonValue[] = [];
  const push = (v: JsonValue | undefined) => {
    if (v !== undefined) out.push(v);
  };
  let li = 0;
  let ri = 0;
  while (li < lPEs.length || ri < rPEs.length) {
    if (li < lPEs.length && ri < rPEs.length) {
      const pe = lPEs[li];
      if (pe === rPEs[ri]) {
        merged.add(pe);
        push(visitMerge(w, lObs.get(pe), rObs.get(pe), shape.items, [...path, pe]));
        li++;
        ri++;
        nextShared = shared.shift();
        continue;
      }
      if (rObs.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++;
        continue;
      }
    }
    if (li < lPEs.length) {
      const pe = lPEs[li];
      if (!rObs.has(pe)) {
        push(structuredClone(l[li]));
        li++;
        continue;
      }
      if (merged.has(pe)) li++;
    }
    if (ri < rPEs.length) {
      const pe = rPEs[ri];
      merged.add(pe);
      push(visitMerge(w, lObs.get(pe), rObs.get(pe), shape.items, [...path, pe]));
      ri++;
      if (nextShared === pe) nextShared = shared.shift();
    }
  }
  return out;
}

// ---- RemoveItems ----------------------------------------------------------------------------------------------

/** Removes every member of `set` (with everything below it) from `value`; emptied maps and lists disappear. */
export function removeItems(w: SchemaWalker, value: JsonValue, set: FieldSet, schema: Schema | undefined): JsonValue | undefined {
  const shape = shapeOf(w, schema, value);
  if (shape.kind === 'scalar') return value;
  if (shape.kind === 'list') {
    const list = value as JsonValue[];
    if (list.length === 0 || shape.listType === 'atomic') return value;
    const out: JsonValue[] = [];
    list.forEach((item, i) => {
      const pe = listElement(w, shape, item, i);
      if (set.members.has(pe)) return;
      const sub = set.children.get(pe);
      const v = sub ? removeItems(w, item, sub, shape.items) : item;
      if (v !== undefined) out.push(v);
    });
    return out.length > 0 ? out : undefined;
  }
  const obj = value as JsonObject;
  if (Object.keys(obj).length === 0 || shape.atomic) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    const pe = fieldElement(k);
    if (set.members.has(pe)) continue;
    const sub = set.children.get(pe);
    const nv = sub ? removeItems(w, v, sub, childSchema(w, shape.schema, k)) : v;
    if (nv !== undefined) out[k] = nv;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
