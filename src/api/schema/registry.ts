import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Schema, SchemaDocument } from './types.js';

// Loads gen/schema.json once. The file is produced at build time (npm run build) from the kubernetes-types
// declarations plus kite's overlay of merge keys, list types, formats and protobuf field numbers.

let doc: SchemaDocument | undefined;

function schemaPath(): string {
  if (process.env.KITE_SCHEMA) return process.env.KITE_SCHEMA;
  // Walk up from the compiled module to the repo root, wherever the build put it.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'gen', 'schema.json');
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new Error('gen/schema.json not found: run `npm run build` in the kite repository first');
    dir = up;
  }
}

export function schemaDocument(): SchemaDocument {
  if (!doc) doc = JSON.parse(readFileSync(schemaPath(), 'utf8')) as SchemaDocument;
  return doc;
}

export function definition(name: string): Schema | undefined {
  return schemaDocument().definitions[name];
}

/** The definition name of a kind, e.g. ('apps','v1','Deployment') → 'io.k8s.api.apps.v1.Deployment'. */
export function definitionNameForKind(group: string, version: string, kind: string): string | undefined {
  return schemaDocument().kinds[`${group}/${version}/${kind}`];
}

export function schemaForKind(group: string, version: string, kind: string): Schema | undefined {
  const n = definitionNameForKind(group, version, kind);
  return n ? definition(n) : undefined;
}

/** Follow $ref until a concrete schema. Field-level keys beside a $ref (description) are dropped. */
export function resolve(s: Schema | undefined): Schema | undefined {
  let cur = s;
  for (let i = 0; cur?.$ref && i < 32; i++) cur = definition(cur.$ref);
  return cur;
}

/** The schema of a property of an object schema, with refs resolved, or undefined when unknown. */
export function propertySchema(s: Schema | undefined, prop: string): Schema | undefined {
  const o = resolve(s);
  if (!o) return undefined;
  return o.properties?.[prop] ?? o.additionalProperties;
}
