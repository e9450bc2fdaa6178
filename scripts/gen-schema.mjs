#!/usr/bin/env node
// Builds gen/schema.json, kite's schema registry, from the kubernetes-types declarations (names, descriptions,
// property types, required-ness) plus kite's overlay (src/api/schema/overlay/overlay.mjs: integer widths, patch
// and apply metadata, defaults, post-1.30 fields) and the protobuf field numbers in
// src/api/schema/overlay/proto.json when that file exists. Output is deterministic: same inputs, same bytes.
//
// The declarations are parsed syntactically (no type checker): every type they use is a keyword, a literal, an
// Array<>, an index-signature map, `number | string`, or a name imported or declared in the same file.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const overlayDir = join(root, 'src', 'api', 'schema', 'overlay');
const overlay = await import(pathToFileURL(join(overlayDir, 'overlay.mjs')).href);

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

function typesDir() {
  try {
    return dirname(createRequire(import.meta.url).resolve('kubernetes-types/package.json'));
  } catch {
    return join(root, 'node_modules', 'kubernetes-types');
  }
}

/** The upstream OpenAPI package prefix for a declaration module ("core/v1", "meta/v1", "runtime", ...). */
function packagePrefix(mod) {
  switch (mod) {
    case 'meta/v1':
      return 'io.k8s.apimachinery.pkg.apis.meta.v1';
    case 'api/resource':
      return 'io.k8s.apimachinery.pkg.api.resource';
    case 'runtime':
      return 'io.k8s.apimachinery.pkg.runtime';
    case 'version':
      return 'io.k8s.apimachinery.pkg.version';
    case 'apiextensions/v1':
      return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
    default:
      return 'io.k8s.api.' + mod.replace('/', '.');
  }
}

function listDeclarations(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The JSDoc text right before a node, with the comment markup removed and paragraphs kept. */
function description(node, text) {
  const ranges = ts.getLeadingCommentRanges(text, node.pos) ?? [];
  const doc = ranges.filter((r) => text.startsWith('/**', r.pos)).pop();
  if (!doc) return undefined;
  const body = text.slice(doc.pos + 3, doc.end - 2);
  const lines = body.split('\n').map((l, i) => (i === 0 ? l.trim() : l.replace(/^\s*\* ?/, '').replace(/\s+$/, '')));
  while (lines.length && lines[0] === '') lines.shift();
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const s = lines.join('\n').replace(/\*\\\//g, '*/').trim();
  return s || undefined;
}

function propertyName(name) {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name)) return name.text;
  return name.getText();
}

// ---- pass 1: name every declaration --------------------------------------------------------------------------

const dir = typesDir();
const files = listDeclarations(dir).map((path) => {
  const mod = relative(dir, path).replace(/\\/g, '/').replace(/\.d\.ts$/, '');
  const text = readFileSync(path, 'utf8');
  return { mod, text, sf: ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS) };
});

for (const f of files) {
  f.names = new Map();
  const prefix = packagePrefix(f.mod);
  for (const st of f.sf.statements) {
    if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) f.names.set(st.name.text, `${prefix}.${st.name.text}`);
  }
}
const byModule = new Map(files.map((f) => [f.mod, f]));
for (const f of files) {
  for (const st of f.sf.statements) {
    if (!ts.isImportDeclaration(st) || !st.importClause?.namedBindings || !ts.isNamedImports(st.importClause.namedBindings)) continue;
    const spec = st.moduleSpecifier.text;
    const target = join(dirname(f.mod), spec).replace(/\\/g, '/');
    const from = byModule.get(target);
    if (!from) throw new Error(`${f.mod}: cannot resolve import ${spec}`);
    for (const el of st.importClause.namedBindings.elements) {
      const imported = (el.propertyName ?? el.name).text;
      const name = from.names.get(imported);
      if (!name) throw new Error(`${f.mod}: ${imported} is not declared in ${target}`);
      f.names.set(el.name.text, name);
    }
  }
}

// ---- pass 2: convert ------------------------------------------------------------------------------------------

const definitions = {};
const kinds = {};
let needIntOrString = false;

function toSchema(node, f, where) {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: 'string' };
    case ts.SyntaxKind.NumberKeyword:
      return { type: 'integer', format: 'int32' };
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    case ts.SyntaxKind.LiteralType:
      if (ts.isStringLiteral(node.literal)) return { type: 'string' };
      break;
    case ts.SyntaxKind.ParenthesizedType:
      return toSchema(node.type, f, where);
    case ts.SyntaxKind.ArrayType:
      return { type: 'array', items: toSchema(node.elementType, f, where) };
    case ts.SyntaxKind.TypeReference: {
      const name = node.typeName.getText(f.sf);
      if (name === 'Array' && node.typeArguments?.length === 1) return { type: 'array', items: toSchema(node.typeArguments[0], f, where) };
      const def = f.names.get(name);
      if (!def) throw new Error(`${where}: unknown type ${name}`);
      return { $ref: def };
    }
    case ts.SyntaxKind.TypeLiteral: {
      const sig = node.members.find(ts.isIndexSignatureDeclaration);
      if (sig && node.members.length === 1) return { type: 'object', additionalProperties: toSchema(sig.type, f, where) };
      break;
    }
    case ts.SyntaxKind.UnionType: {
      const kinds = node.types.map((t) => t.kind).sort();
      if (kinds.length === 2 && kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword)) {
        needIntOrString = true;
        return { $ref: INT_OR_STRING };
      }
      break;
    }
  }
  throw new Error(`${where}: unsupported type ${node.getText(f.sf)}`);
}

function literal(member) {
  return member?.type && ts.isLiteralTypeNode(member.type) && ts.isStringLiteral(member.type.literal) ? member.type.literal.text : undefined;
}

function convertInterface(st, f) {
  const name = f.names.get(st.name.text);
  const s = {};
  const d = description(st, f.text);
  if (d) s.description = d;
  s.type = 'object';
  const properties = {};
  const required = [];
  let apiVersion;
  let kind;
  for (const m of st.members) {
    if (!ts.isPropertySignature(m) || !m.type) continue;
    const prop = propertyName(m.name);
    const ps = toSchema(m.type, f, `${name}.${prop}`);
    const pd = description(m, f.text);
    properties[prop] = pd ? { ...ps, description: pd } : ps;
    if (!m.questionToken) required.push(prop);
    if (prop === 'apiVersion') apiVersion = literal(m);
    if (prop === 'kind') kind = literal(m);
  }
  if (Object.keys(properties).length) s.properties = properties;
  if (required.length) s.required = required;
  if (apiVersion && kind) {
    const slash = apiVersion.indexOf('/');
    const gvk = { group: slash < 0 ? '' : apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1), kind };
    s['x-kubernetes-group-version-kind'] = [gvk];
    kinds[`${gvk.group}/${gvk.version}/${gvk.kind}`] = name;
  }
  return s;
}

function convertAlias(st, f) {
  const name = f.names.get(st.name.text);
  const s = {};
  const d = description(st, f.text);
  if (d) s.description = d;
  if (name.endsWith('.resource.Quantity')) Object.assign(s, { type: 'string', format: 'quantity' });
  else if (name.endsWith('meta.v1.Time') || name.endsWith('meta.v1.MicroTime')) Object.assign(s, { type: 'string', format: 'date-time' });
  else if (!ts.isUnionTypeNode(st.type)) Object.assign(s, toSchema(st.type, f, name));
  // Unions (JSONSchemaPropsOrBool and friends) stay untyped: any JSON value is acceptable there.
  return s;
}

for (const f of files) {
  for (const st of f.sf.statements) {
    if (ts.isInterfaceDeclaration(st)) definitions[f.names.get(st.name.text)] = convertInterface(st, f);
    else if (ts.isTypeAliasDeclaration(st)) definitions[f.names.get(st.name.text)] = convertAlias(st, f);
  }
}

if (needIntOrString) {
  definitions[INT_OR_STRING] = {
    description:
      'IntOrString holds either a 32-bit integer or a string; JSON and YAML carry whichever of the two it holds. ' +
      'Fields such as container ports and rollout surge limits use it to accept a number or a name or percentage.',
    type: 'string',
    format: 'int-or-string',
    'x-kubernetes-int-or-string': true,
  };
}

// Kinds whose declarations leave apiVersion open. Status is served as core v1; DeleteOptions and WatchEvent are
// accepted in every group version, as kube-apiserver registers them.
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const addKind = (name, gvk) => {
  const d = definitions[name];
  (d['x-kubernetes-group-version-kind'] ??= []).push(gvk);
  kinds[`${gvk.group}/${gvk.version}/${gvk.kind}`] ??= name;
};
addKind(META + 'Status', { group: '', version: 'v1', kind: 'Status' });
const groupVersions = [...new Set(Object.keys(kinds).map((k) => k.slice(0, k.lastIndexOf('/'))))].sort();
for (const gv of groupVersions) {
  const [group, version] = gv.split('/');
  addKind(META + 'DeleteOptions', { group, version, kind: 'DeleteOptions' });
  addKind(META + 'WatchEvent', { group, version, kind: 'WatchEvent' });
}

// Opaque payloads: their content belongs to another schema (or to none), so nothing below them is checked.
for (const n of ['io.k8s.apimachinery.pkg.runtime.RawExtension', 'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1', 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON']) {
  if (definitions[n]) definitions[n]['x-kubernetes-preserve-unknown-fields'] = true;
}

// ---- overlay --------------------------------------------------------------------------------------------------

const problems = [];

for (const [name, s] of Object.entries(overlay.addDefinitions)) {
  if (!definitions[name]) definitions[name] = structuredClone(s);
}
for (const [name, props] of Object.entries(overlay.addProperties)) {
  const d = definitions[name];
  if (!d) {
    problems.push(`addProperties: no definition ${name}`);
    continue;
  }
  d.properties ??= {};
  for (const [p, s] of Object.entries(props)) if (!d.properties[p]) d.properties[p] = structuredClone(s);
  d.properties = Object.fromEntries(Object.entries(d.properties).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

for (const [name, props] of Object.entries(overlay.removeProperties)) {
  const d = definitions[name];
  for (const p of props) {
    if (!d?.properties?.[p]) problems.push(`removeProperties: no property ${name}.${p}`);
    else delete d.properties[p];
  }
  if (d?.required) d.required = d.required.filter((r) => !props.includes(r));
}
for (const [name, props] of Object.entries(overlay.required)) {
  const d = definitions[name];
  if (!d) problems.push(`required: no definition ${name}`);
  else d.required = [...new Set([...(d.required ?? []), ...props])];
}

for (const d of Object.values(definitions)) {
  for (const [p, s] of Object.entries(d.properties ?? {})) {
    if (overlay.int64Everywhere.includes(p) && s.type === 'integer') s.format = 'int64';
  }
}

for (const [name, props] of Object.entries(overlay.fields)) {
  const d = definitions[name];
  if (!d) {
    problems.push(`fields: no definition ${name}`);
    continue;
  }
  for (const [path, patch] of Object.entries(props)) {
    const m = /^(.*?)(\[\]|\{\})?$/.exec(path);
    let target = d.properties?.[m[1]];
    if (target && m[2] === '[]') target = target.items;
    if (target && m[2] === '{}') target = target.additionalProperties;
    if (!target) {
      problems.push(`fields: no property ${name}.${path}`);
      continue;
    }
    Object.assign(target, structuredClone(patch));
  }
}

for (const [name, props] of Object.entries(overlay.enums)) {
  for (const [p, values] of Object.entries(props)) {
    const s = definitions[name]?.properties?.[p];
    if (s?.type !== 'string') problems.push(`enums: no string property ${name}.${p}`);
    else s.enum = values;
  }
}

for (const [name, patch] of Object.entries(overlay.definitions)) {
  if (!definitions[name]) problems.push(`definitions: no definition ${name}`);
  else Object.assign(definitions[name], structuredClone(patch));
}

// Protobuf field numbers (src/api/schema/overlay/proto.json, read from the upstream .proto files by another tool)
// ride along on the definitions they number. Messages with no JSON definition of their own (embedded structs such
// as VolumeSource, option kinds such as PodExecOptions) are left to the protobuf decoder, which reads that file.
const protoPath = join(overlayDir, 'proto.json');
if (existsSync(protoPath)) {
  const proto = JSON.parse(readFileSync(protoPath, 'utf8'));
  for (const [name, fields] of Object.entries(proto)) {
    if (definitions[name]) definitions[name]['x-kite-proto'] = fields;
  }
}

// Every $ref must name a definition.
const checkRefs = (s, where) => {
  if (!s || typeof s !== 'object') return;
  if (s.$ref && !definitions[s.$ref]) problems.push(`dangling $ref ${s.$ref} at ${where}`);
  if (s.items) checkRefs(s.items, `${where}[]`);
  if (s.additionalProperties) checkRefs(s.additionalProperties, `${where}{}`);
  for (const [p, ps] of Object.entries(s.properties ?? {})) checkRefs(ps, `${where}.${p}`);
};
for (const [n, d] of Object.entries(definitions)) checkRefs(d, n);

if (problems.length) {
  for (const p of problems) process.stderr.write(`gen-schema: ${p}\n`);
  process.exit(1);
}

// ---- write ----------------------------------------------------------------------------------------------------

const sorted = (o) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
const doc = { definitions: sorted(definitions), kinds: sorted(kinds) };
const out = join(root, 'gen', 'schema.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(doc) + '\n');
process.stdout.write(`gen-schema: ${Object.keys(definitions).length} definitions, ${Object.keys(kinds).length} kinds → ${relative(root, out)}\n`);
