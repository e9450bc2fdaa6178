import { resolve as registryResolve } from '../schema/registry.js';
import type { Schema } from '../schema/types.js';

// How the patch modules read the schema registry. Patch metadata lives on the property schema, beside a
// possible $ref (`strategy: {$ref: DeploymentStrategy, x-kubernetes-patch-strategy: retainKeys}`), so the walkers
// keep the raw property and resolve it only to descend. A walker is injectable so tests can use a hand-written
// schema with its own definitions.

export interface SchemaWalker {
  /** Follows $ref to a concrete schema. */
  resolve(s: Schema | undefined): Schema | undefined;
}

export const registryWalker: SchemaWalker = { resolve: registryResolve };

/** A walker over a private set of definitions (for tests and hand-built schemas). */
export function definitionsWalker(definitions: Record<string, Schema>): SchemaWalker {
  return {
    resolve(s) {
      let cur = s;
      for (let i = 0; cur?.$ref && i < 32; i++) cur = definitions[cur.$ref];
      return cur;
    },
  };
}

/** The raw schema of a named child (a struct field or a map value), or undefined when unknown. */
export function childSchema(w: SchemaWalker, s: Schema | undefined, name: string): Schema | undefined {
  const r = w.resolve(s);
  if (!r) return undefined;
  return r.properties?.[name] ?? r.additionalProperties;
}

/** True when `name` is a declared field of the struct `s` (not a key of a map). */
export function isNamedField(w: SchemaWalker, s: Schema | undefined, name: string): boolean {
  const r = w.resolve(s);
  return !!r?.properties && Object.prototype.hasOwnProperty.call(r.properties, name);
}

export function itemSchema(w: SchemaWalker, s: Schema | undefined): Schema | undefined {
  return w.resolve(s)?.items;
}

/** An x-kubernetes extension, read from the property first and then from the definition it refers to. */
export function extension<K extends keyof Schema>(w: SchemaWalker, s: Schema | undefined, key: K): Schema[K] | undefined {
  if (!s) return undefined;
  if (s[key] !== undefined) return s[key];
  return w.resolve(s)?.[key];
}

// ---- strategic merge patch metadata ---------------------------------------------------------------------------

export interface PatchMeta {
  /** "merge", "replace" or "" (none); "retainKeys" is reported separately. */
  strategy: string;
  retainKeys: boolean;
  mergeKey?: string;
}

export function patchMeta(w: SchemaWalker, s: Schema | undefined): PatchMeta {
  const raw = extension(w, s, 'x-kubernetes-patch-strategy') ?? '';
  const parts = raw ? raw.split(',').map((p) => p.trim()) : [];
  const retainKeys = parts.includes('retainKeys');
  const others = parts.filter((p) => p !== 'retainKeys');
  if (parts.length > 2 || others.length > 1) throw new Error(`unexpected patch strategy: ${JSON.stringify(parts)}`);
  return { strategy: others[0] ?? '', retainKeys, mergeKey: extension(w, s, 'x-kubernetes-patch-merge-key') };
}

// ---- server-side apply shapes ---------------------------------------------------------------------------------

/** What structured merge sees at a node: the schema's view, corrected by the value actually there. */
export type Shape =
  | { kind: 'scalar' }
  /** Struct (declared fields) or map (any keys); `schema` is the raw schema of the node for child lookups. */
  | { kind: 'map'; atomic: boolean; schema: Schema | undefined }
  | { kind: 'list'; listType: 'atomic' | 'set' | 'map'; keys: string[]; items: Schema | undefined };

export function shapeOf(w: SchemaWalker, s: Schema | undefined, value: unknown): Shape {
  const r = w.resolve(s);
  if (Array.isArray(value)) {
    if (!r || !(r.type === 'array' || r.items)) return { kind: 'list', listType: 'atomic', keys: [], items: undefined };
    let listType = extension(w, s, 'x-kubernetes-list-type');
    let keys = extension(w, s, 'x-kubernetes-list-map-keys') ?? [];
    if (!listType) {
      // Lists without a list type follow their patch strategy, as kube-openapi's converter does.
      let pm: PatchMeta;
      try {
        pm = patchMeta(w, s);
      } catch {
        pm = { strategy: '', retainKeys: false };
      }
      if (pm.strategy === 'merge') {
        listType = pm.mergeKey ? 'map' : 'set';
        if (pm.mergeKey && keys.length === 0) keys = [pm.mergeKey];
      } else listType = 'atomic';
    }
    if (listType === 'map' && keys.length === 0) {
      const mk = extension(w, s, 'x-kubernetes-patch-merge-key');
      keys = mk ? [mk] : [];
      if (keys.length === 0) listType = 'atomic';
    }
    return { kind: 'list', listType, keys, items: r.items };
  }
  if (typeof value === 'object' && value !== null) {
    if (r && r.type && r.type !== 'object') return { kind: 'map', atomic: false, schema: undefined };
    return { kind: 'map', atomic: extension(w, s, 'x-kubernetes-map-type') === 'atomic', schema: r ? s : undefined };
  }
  return { kind: 'scalar' };
}
