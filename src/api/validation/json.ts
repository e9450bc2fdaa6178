// Small accessors for walking untyped JSON objects. Defaulting and validation read objects whose shape has
// not been checked yet, so every accessor tolerates a wrong type and answers "absent".

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): Obj | undefined {
  return isObj(v) ? v : undefined;
}

/** The object at o[k], or an empty stand-in (not attached) when absent. */
export function sub(o: Obj | undefined, k: string): Obj {
  return obj(o?.[k]) ?? {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** List items as objects (non-objects become empty objects so indexes stay aligned). */
export function items(v: unknown): Obj[] {
  return arr(v).map((x) => obj(x) ?? {});
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function bool(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}

/** Present in the Go sense of a non-nil pointer: neither missing nor null. */
export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

export function strMap(v: unknown): Record<string, string> | undefined {
  if (!isObj(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === 'string' ? x : String(x);
  return out;
}

/** The object at parent[key], created when missing (for defaulting). */
export function ensureObj(parent: Obj, key: string): Obj {
  const cur = parent[key];
  if (isObj(cur)) return cur;
  const fresh: Obj = {};
  parent[key] = fresh;
  return fresh;
}

/** Sets parent[key] when it is missing, null or the empty string (Go's zero value for strings). */
export function defaultStr(parent: Obj, key: string, value: string): void {
  const cur = parent[key];
  if (cur === undefined || cur === null || cur === '') parent[key] = value;
}

/** Sets parent[key] when it is missing or null (Go's nil pointer). */
export function defaultPtr(parent: Obj, key: string, value: unknown): void {
  const cur = parent[key];
  if (cur === undefined || cur === null) parent[key] = value;
}

/** Sets parent[key] when it is missing, null or 0 (Go's zero value for non-pointer numbers). */
export function defaultNum(parent: Obj, key: string, value: number): void {
  const cur = parent[key];
  if (cur === undefined || cur === null || cur === 0) parent[key] = value;
}

/** Structural equality of JSON values, treating a missing key and null alike. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === undefined || a === null) && (b === undefined || b === null)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/** Go's semantic equality for optional collections: nil, missing and empty compare equal. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.length ? v.map(norm) : undefined;
    if (isObj(v)) {
      const out: Obj = {};
      for (const [k, x] of Object.entries(v)) {
        const n = norm(x);
        if (n !== undefined && n !== null) out[k] = n;
      }
      return Object.keys(out).length ? out : undefined;
    }
    return v === '' || v === 0 || v === false ? undefined : v;
  };
  return deepEqual(norm(a), norm(b));
}

export function sortedKeys(o: Obj | undefined): string[] {
  return o ? Object.keys(o).sort() : [];
}
