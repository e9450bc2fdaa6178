import type { JsonObject, JsonValue } from '../object.js';
import { compareStrings, isJsonObject } from './json.js';

// Server-side apply's field sets, the data behind managedFields[].fieldsV1. A path element is kept in its
// serialized FieldsV1 form, which is also its identity:
//   f:<name>          a field of a struct or a key of a map
//   k:{"name":"x"}    an element of a keyed list (x-kubernetes-list-type: map), key fields sorted
//   v:"x"             an element of a set (x-kubernetes-list-type: set)
//   i:3               an element of an atomic list by index (only ever read, never produced)
// A set is a trie: `members` are child elements that are themselves in the set, `children` are child elements
// with members below them. In FieldsV1 a node that is both a member and has children carries ".": {}.

export type PathElement = string;
export type FieldPath = PathElement[];

export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  static of(...paths: FieldPath[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: FieldPath): void {
    if (path.length === 0) return;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- descends the trie
    let node: FieldSet = this;
    for (let i = 0; i < path.length - 1; i++) {
      let next = node.children.get(path[i]);
      if (!next) {
        next = new FieldSet();
        node.children.set(path[i], next);
      }
      node = next;
    }
    node.members.add(path[path.length - 1]);
  }

  has(path: FieldPath): boolean {
    if (path.length === 0) return false;
    if (path.length === 1) return this.members.has(path[0]);
    return this.children.get(path[0])?.has(path.slice(1)) ?? false;
  }

  /** The subset below `pe`, or an empty set. */
  withPrefix(pe: PathElement): FieldSet {
    return this.children.get(pe) ?? new FieldSet();
  }

  isEmpty(): boolean {
    if (this.members.size > 0) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  union(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) out.members.add(m);
    for (const m of o.members) out.members.add(m);
    for (const [pe, c] of this.children) out.children.set(pe, c.union(o.children.get(pe) ?? EMPTY));
    for (const [pe, c] of o.children) if (!this.children.has(pe)) out.children.set(pe, c.union(EMPTY));
    return out.pruned();
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      const oc = o.children.get(pe);
      if (oc) out.children.set(pe, c.intersection(oc));
    }
    return out.pruned();
  }

  /** Members of this set that are not members of `o`; a member of `o` does not remove what lies below it. */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) out.children.set(pe, c.difference(o.children.get(pe) ?? EMPTY));
    return out.pruned();
  }

  /** Like difference, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const m of this.members) if (!o.members.has(m)) out.members.add(m);
    for (const [pe, c] of this.children) {
      if (o.members.has(pe)) continue;
      out.children.set(pe, c.recursiveDifference(o.children.get(pe) ?? EMPTY));
    }
    return out.pruned();
  }

  equals(o: FieldSet): boolean {
    return this.difference(o).isEmpty() && o.difference(this).isEmpty();
  }

  /** Every member path, in FieldsV1 order. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    const walk = (node: FieldSet, prefix: FieldPath) => {
      for (const pe of sortedElements([...node.members, ...node.children.keys()])) {
        if (node.members.has(pe)) out.push([...prefix, pe]);
        const c = node.children.get(pe);
        if (c) walk(c, [...prefix, pe]);
      }
    };
    walk(this, []);
    return out;
  }

  private pruned(): this {
    for (const [pe, c] of this.children) if (c.isEmpty()) this.children.delete(pe);
    return this;
  }
}

const EMPTY = new FieldSet();

// ---- FieldsV1 -------------------------------------------------------------------------------------------------

export function encodeFieldsV1(set: FieldSet): JsonObject {
  const out: JsonObject = {};
  for (const pe of sortedElements([...set.members, ...set.children.keys()])) {
    const c = set.children.get(pe);
    if (!c || c.isEmpty()) {
      out[pe] = {};
      continue;
    }
    const inner: JsonObject = set.members.has(pe) ? { '.': {} } : {};
    Object.assign(inner, encodeFieldsV1(c));
    out[pe] = inner;
  }
  return out;
}

/** Parses a fieldsV1 object; throws on anything that is not a valid field set. */
export function decodeFieldsV1(json: unknown): FieldSet {
  if (!isJsonObject(json)) throw new Error('fieldsV1 must be a JSON object');
  const set = new FieldSet();
  for (const [k, v] of Object.entries(json)) {
    if (k === '.') continue;
    const pe = canonicalElement(k);
    if (!isJsonObject(v)) throw new Error(`fieldsV1: value of ${k} must be an object`);
    const keys = Object.keys(v);
    if (keys.length === 0 || Object.prototype.hasOwnProperty.call(v, '.')) set.members.add(pe);
    if (keys.some((x) => x !== '.')) {
      const child = decodeFieldsV1(v);
      if (!child.isEmpty()) set.children.set(pe, child);
    }
  }
  return set;
}

/** Validates a serialized path element and rewrites k:/v: contents in canonical JSON. */
function canonicalElement(s: string): PathElement {
  if (s.length < 2 || s[1] !== ':') throw new Error(`fieldsV1: invalid path element ${JSON.stringify(s)}`);
  const body = s.slice(2);
  switch (s[0]) {
    case 'f':
      return s;
    case 'i':
      if (!/^-?\d+$/.test(body)) throw new Error(`fieldsV1: invalid index ${JSON.stringify(s)}`);
      return `i:${Number(body)}`;
    case 'v':
      return valueElement(parseJson(body, s));
    case 'k': {
      const obj = parseJson(body, s);
      if (!isJsonObject(obj)) throw new Error(`fieldsV1: invalid key ${JSON.stringify(s)}`);
      return keyElement(obj);
    }
    default:
      throw new Error(`fieldsV1: unknown path element type in ${JSON.stringify(s)}`);
  }
}

function parseJson(text: string, whole: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new Error(`fieldsV1: invalid JSON in path element ${JSON.stringify(whole)}`);
  }
}

// ---- path elements --------------------------------------------------------------------------------------------

export function fieldElement(name: string): PathElement {
  return `f:${name}`;
}

export function keyElement(fields: JsonObject): PathElement {
  const names = Object.keys(fields).sort(compareStrings);
  return `k:{${names.map((n) => `${goJson(n)}:${goJson(fields[n])}`).join(',')}}`;
}

export function valueElement(v: JsonValue): PathElement {
  return `v:${goJson(v)}`;
}

export function indexElement(i: number): PathElement {
  return `i:${i}`;
}

interface ParsedElement {
  type: number;
  name?: string;
  key?: [string, JsonValue][];
  value?: JsonValue;
  index?: number;
}

const parsedCache = new Map<PathElement, ParsedElement>();

function parse(pe: PathElement): ParsedElement {
  let p = parsedCache.get(pe);
  if (p) return p;
  const body = pe.slice(2);
  switch (pe[0]) {
    case 'f':
      p = { type: 0, name: body };
      break;
    case 'k': {
      const obj = JSON.parse(body) as JsonObject;
      p = { type: 1, key: Object.keys(obj).sort(compareStrings).map((k) => [k, obj[k]]) };
      break;
    }
    case 'v':
      p = { type: 2, value: JSON.parse(body) as JsonValue };
      break;
    default:
      p = { type: 3, index: Number(body) };
  }
  if (parsedCache.size > 10000) parsedCache.clear();
  parsedCache.set(pe, p);
  return p;
}

/** The order structured-merge-diff gives path elements: fields, then keys, then values, then indices. */
export function compareElements(a: PathElement, b: PathElement): number {
  if (a === b) return 0;
  // Two fields (most elements): their names compare as the whole strings do, past the common "f:".
  if (a.charCodeAt(0) === 102 && b.charCodeAt(0) === 102) return compareStrings(a, b);
  const pa = parse(a);
  const pb = parse(b);
  if (pa.type !== pb.type) return pa.type - pb.type;
  switch (pa.type) {
    case 0:
      return compareStrings(pa.name!, pb.name!);
    case 1: {
      const ka = pa.key!;
      const kb = pb.key!;
      for (let i = 0; ; i++) {
        if (i >= ka.length && i >= kb.length) return 0;
        if (i >= ka.length) return -1;
        if (i >= kb.length) return 1;
        const c = compareStrings(ka[i][0], kb[i][0]) || compareValues(ka[i][1], kb[i][1]);
        if (c !== 0) return c;
      }
    }
    case 2:
      return compareValues(pa.value!, pb.value!);
    default:
      return pa.index! - pb.index!;
  }
}

function sortedElements(pes: PathElement[]): PathElement[] {
  return [...new Set(pes)].sort(compareElements);
}

function valueRank(v: JsonValue): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (v !== null && typeof v === 'object') return 4;
  return 5;
}

/** A total order over JSON values: numbers, strings, booleans, lists, maps, null. */
export function compareValues(a: JsonValue, b: JsonValue): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number') return a - (b as number);
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (typeof a === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a)) {
    const bl = b as JsonValue[];
    for (let i = 0; i < Math.min(a.length, bl.length); i++) {
      const c = compareValues(a[i], bl[i]);
      if (c !== 0) return c;
    }
    return a.length - bl.length;
  }
  if (a !== null) return compareStrings(goJson(a), goJson(b));
  return 0;
}

/** A path as kube-apiserver prints it in conflicts: .spec.containers[name="nginx"].image, .finalizers[="x"]. */
export function pathString(path: FieldPath): string {
  return path
    .map((pe) => {
      const p = parse(pe);
      switch (p.type) {
        case 0:
          return `.${p.name}`;
        case 1:
          return `[${p.key!.map(([k, v]) => `${k}=${valueString(v)}`).join(',')}]`;
        case 2:
          return `[=${valueString(p.value!)}]`;
        default:
          return `[${p.index}]`;
      }
    })
    .join('');
}

function valueString(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (typeof v === 'object') return Object.keys(v).sort(compareStrings).map((k) => `${k}=${valueString(v[k])}`).join('');
  return String(v);
}

/** JSON as Go's encoding/json writes it: sorted keys, HTML-significant characters escaped. */
export function goJson(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v === 'string') {
    return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (typeof v === 'object') {
    return `{${Object.keys(v).sort(compareStrings).map((k) => `${goJson(k)}:${goJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
