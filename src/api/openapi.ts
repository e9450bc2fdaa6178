import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from './object.js';
import { RESOURCES, type ResourceInfo, type SubresourceInfo } from './resources.js';
import { definition, definitionNameForKind, schemaDocument } from './schema/registry.js';
import type { Schema } from './schema/types.js';
import { encodeOpenapiV2 } from './openapiproto.js';

// The OpenAPI documents kube-apiserver publishes, generated from the schema registry and the resource table:
// one v3 document per group-version (GET /openapi/v3/{api/v1 | apis/g/v}) plus the v2 document covering
// everything. kubectl reads them for three things: the fieldValidation gate (a PATCH operation carrying the
// object's GVK and a `fieldValidation` parameter), client-side apply patch metadata (x-kubernetes-patch-*),
// and `kubectl explain`. Documents are built once and cached as strings; they only change with the build.

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

type Dialect = 'v2' | 'v3';

interface GV {
  group: string;
  version: string;
}

/** "api/v1" or "apis/apps/v1": the key of a group-version in the v3 index. */
export function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function servedGroupVersions(): GV[] {
  const seen = new Map<string, GV>();
  for (const r of RESOURCES) seen.set(gvPath(r.group, r.version), { group: r.group, version: r.version });
  return [...seen.values()];
}

// ---- schemas ---------------------------------------------------------------------------------------------------

function refTarget(name: string, dialect: Dialect): string {
  return dialect === 'v3' ? `#/components/schemas/${name}` : `#/definitions/${name}`;
}

/** A registry schema in OpenAPI form: refs made absolute, kite-private keys dropped. */
function convert(s: Schema, dialect: Dialect): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s) as [keyof Schema, unknown][]) {
    if (v === undefined || k.startsWith('x-kite-') || k === '$ref') continue;
    if (k === 'items' || k === 'additionalProperties') out[k] = convert(v as Schema, dialect);
    else if (k === 'properties') {
      const props: JsonObject = {};
      for (const [p, ps] of Object.entries(v as Record<string, Schema>)) props[p] = convert(ps, dialect);
      out[k] = props;
    } else out[k] = v as JsonValue;
  }
  if (s.$ref) {
    const ref = refTarget(s.$ref, dialect);
    // v3 forbids siblings next to $ref, so a described reference is wrapped in allOf (as kube-apiserver does).
    if (dialect === 'v3' && Object.keys(out).length) return { allOf: [{ $ref: ref }], ...out };
    return { $ref: ref, ...out };
  }
  return out;
}

/** A definition as published. Quantity and IntOrString take their published shape, which differs by dialect. */
function publishedDefinition(name: string, s: Schema, dialect: Dialect): JsonObject {
  const d: JsonObject = convert(s, dialect);
  if (name === QUANTITY || name === INT_OR_STRING) {
    delete d['x-kubernetes-int-or-string'];
    if (dialect === 'v3') {
      delete d.type;
      if (name === QUANTITY) delete d.format;
      d.oneOf = name === QUANTITY ? [{ type: 'string' }, { type: 'number' }] : [{ type: 'integer' }, { type: 'string' }];
    } else if (name === QUANTITY) {
      delete d.format;
    }
  }
  return d;
}

function collectRefs(s: Schema | undefined, into: Set<string>): void {
  if (!s) return;
  if (s.$ref && !into.has(s.$ref)) {
    into.add(s.$ref);
    collectRefs(definition(s.$ref), into);
  }
  collectRefs(s.items, into);
  collectRefs(s.additionalProperties, into);
  for (const p of Object.values(s.properties ?? {})) collectRefs(p, into);
}

function schemasFor(roots: Iterable<string>, dialect: Dialect): JsonObject {
  const names = new Set<string>();
  for (const r of roots) collectRefs({ $ref: r }, names);
  const out: JsonObject = {};
  for (const n of [...names].sort()) {
    const s = definition(n);
    if (s) out[n] = publishedDefinition(n, s, dialect);
  }
  return out;
}

// ---- paths -----------------------------------------------------------------------------------------------------

function upperFirst(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

/** "rbac.authorization.k8s.io" → "RbacAuthorization", "" → "Core": kube-apiserver's operation-id spelling. */
function groupWord(group: string): string {
  if (!group) return 'Core';
  return group
    .replace(/\.k8s\.io$/, '')
    .split('.')
    .map(upperFirst)
    .join('');
}

function tagOf(g: GV): string {
  const w = groupWord(g.group);
  return `${w[0].toLowerCase()}${w.slice(1)}_${g.version}`;
}

interface Op {
  /** x-kubernetes-action: get, list, watch, watchlist, post, put, patch, delete, deletecollection, connect. */
  action: string;
  describe: string;
  query: string[];
  body?: 'object' | 'patch' | 'deleteOptions';
  /** The kind's own schema (object, list or watch event, as passed), a Status, or raw text. */
  response: 'object' | 'status' | 'string';
  watch?: boolean;
}

const QUERY: Record<string, { type: string; description: string }> = {
  pretty: { type: 'string', description: "If 'true', the output is pretty printed." },
  dryRun: { type: 'string', description: 'When present, modifications are not persisted. The only valid value is All: every dry-run stage is processed.' },
  fieldManager: { type: 'string', description: 'The name of the actor making the change, recorded in managedFields. Required for apply patches.' },
  fieldValidation: {
    type: 'string',
    description:
      'How the server treats unknown or duplicate fields in the request body: Ignore drops them silently, Warn drops them and ' +
      'returns a warning header for each, Strict rejects the request with BadRequest. Defaults to Warn.',
  },
  force: { type: 'boolean', description: 'Take ownership of conflicting fields for apply requests. Must be unset for other patch types.' },
  allowWatchBookmarks: { type: 'boolean', description: 'Ask for BOOKMARK watch events.' },
  continue: { type: 'string', description: 'The continue token returned by a previous, limited list call.' },
  fieldSelector: { type: 'string', description: 'A selector restricting the returned objects by their fields.' },
  labelSelector: { type: 'string', description: 'A selector restricting the returned objects by their labels.' },
  limit: { type: 'integer', description: 'The maximum number of objects to return; more are available when continue is set in the result.' },
  resourceVersion: { type: 'string', description: 'Constrains which resource versions the request may be served from.' },
  resourceVersionMatch: { type: 'string', description: 'How resourceVersion applies to list calls: Exact or NotOlderThan.' },
  sendInitialEvents: { type: 'boolean', description: 'With watch=true, begin the stream with synthetic ADDED events for the current state.' },
  timeoutSeconds: { type: 'integer', description: 'A time limit for the list or watch call.' },
  watch: { type: 'boolean', description: 'Watch for changes instead of listing.' },
  gracePeriodSeconds: { type: 'integer', description: 'Seconds before the object is deleted; zero deletes at once.' },
  orphanDependents: { type: 'boolean', description: 'Deprecated: use propagationPolicy.' },
  propagationPolicy: { type: 'string', description: 'Garbage collection of dependents: Orphan, Background or Foreground.' },
  ignoreStoreReadErrorWithClusterBreakingPotential: { type: 'boolean', description: 'Delete an object that cannot be read from storage. Unsafe.' },
  container: { type: 'string', description: 'The container to target; defaults to the only container.' },
  command: { type: 'string', description: 'The command to run, one argument per occurrence.' },
  stdin: { type: 'boolean', description: 'Attach standard input.' },
  stdout: { type: 'boolean', description: 'Attach standard output.' },
  stderr: { type: 'boolean', description: 'Attach standard error.' },
  tty: { type: 'boolean', description: 'Allocate a terminal.' },
  follow: { type: 'boolean', description: 'Stream the log as it grows.' },
  previous: { type: 'boolean', description: 'Return the log of the previous, terminated container instance.' },
  sinceSeconds: { type: 'integer', description: 'Only return log lines newer than this many seconds.' },
  tailLines: { type: 'integer', description: 'Only return this many lines from the end of the log.' },
  timestamps: { type: 'boolean', description: 'Prefix every log line with its timestamp.' },
  limitBytes: { type: 'integer', description: 'Stop the log after this many bytes.' },
  insecureSkipTLSVerifyBackend: { type: 'boolean', description: 'Do not verify the serving certificate of the log backend.' },
  ports: { type: 'integer', description: 'A port to forward.' },
  path: { type: 'string', description: 'The path to proxy to.' },
};

const LIST_QUERY = ['allowWatchBookmarks', 'continue', 'fieldSelector', 'labelSelector', 'limit', 'resourceVersion', 'resourceVersionMatch', 'sendInitialEvents', 'timeoutSeconds', 'watch'];
const WRITE_QUERY = ['dryRun', 'fieldManager', 'fieldValidation'];
const DELETE_QUERY = ['dryRun', 'gracePeriodSeconds', 'ignoreStoreReadErrorWithClusterBreakingPotential', 'orphanDependents', 'propagationPolicy'];

function queryParam(name: string, dialect: Dialect): JsonObject {
  const q = QUERY[name];
  if (dialect === 'v3') return { name, in: 'query', description: q.description, schema: { type: q.type, uniqueItems: true } };
  return { name, in: 'query', description: q.description, type: q.type, uniqueItems: true };
}

function pathParam(name: string, description: string, dialect: Dialect): JsonObject {
  if (dialect === 'v3') return { name, in: 'path', required: true, description, schema: { type: 'string', uniqueItems: true } };
  return { name, in: 'path', required: true, description, type: 'string', uniqueItems: true };
}

const PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];
const RESPONSE_TYPES = ['application/json', 'application/vnd.kubernetes.protobuf', 'application/yaml'];
const WATCH_TYPES = ['application/json', 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf', 'application/vnd.kubernetes.protobuf;stream=watch', 'application/yaml'];

function responseSchema(def: string | undefined, dialect: Dialect): JsonObject {
  return def ? { $ref: refTarget(def, dialect) } : { type: 'string' };
}

function operation(op: Op, gvk: { group: string; version: string; kind: string }, def: string | undefined, opId: string, tag: string, dialect: Dialect): JsonObject {
  const o: JsonObject = { description: op.describe, operationId: opId };
  const params: JsonObject[] = op.query.map((q) => queryParam(q, dialect));
  const returns = op.response === 'status' ? META + 'Status' : op.response === 'string' ? undefined : def;
  const types = op.watch ? WATCH_TYPES : op.response === 'string' ? ['*/*'] : RESPONSE_TYPES;

  let bodyDef: string | undefined;
  let bodyTypes: string[] = [];
  if (op.body === 'object') [bodyDef, bodyTypes] = [def, ['*/*']];
  else if (op.body === 'patch') [bodyDef, bodyTypes] = [META + 'Patch', PATCH_TYPES];
  else if (op.body === 'deleteOptions') [bodyDef, bodyTypes] = [META + 'DeleteOptions', ['*/*']];

  if (dialect === 'v3') {
    if (params.length) o.parameters = params;
    if (op.body) {
      const content: JsonObject = {};
      for (const t of bodyTypes) content[t] = { schema: responseSchema(bodyDef, dialect) };
      o.requestBody = op.body === 'deleteOptions' ? { content } : { content, required: true };
    }
    const content: JsonObject = {};
    for (const t of types) content[t] = { schema: responseSchema(returns, dialect) };
    const responses: JsonObject = { '200': { description: 'OK', content } };
    if (op.action === 'post' || op.action === 'put' || op.action === 'patch') responses['201'] = { description: 'Created', content };
    if (op.action === 'post' || op.action === 'delete') responses['202'] = { description: 'Accepted', content };
    responses['401'] = { description: 'Unauthorized' };
    o.responses = responses;
  } else {
    if (op.body) {
      params.unshift({ name: 'body', in: 'body', required: op.body !== 'deleteOptions', schema: responseSchema(bodyDef, dialect) });
      o.consumes = bodyTypes;
    }
    if (params.length) o.parameters = params;
    o.produces = types;
    o.schemes = ['https'];
    const ok = { description: 'OK', schema: responseSchema(returns, dialect) };
    const responses: JsonObject = { '200': ok };
    if (op.action === 'post' || op.action === 'put' || op.action === 'patch') responses['201'] = { ...ok, description: 'Created' };
    if (op.action === 'post' || op.action === 'delete') responses['202'] = { ...ok, description: 'Accepted' };
    responses['401'] = { description: 'Unauthorized' };
    o.responses = responses;
  }
  o.tags = [tag];
  o['x-kubernetes-action'] = op.action;
  o['x-kubernetes-group-version-kind'] = { group: gvk.group, kind: gvk.kind, version: gvk.version };
  return o;
}

const PRIMARY: Record<string, { method: string; action: string; word: string; what: (k: string) => string; query: string[]; body?: Op['body']; response?: Op['response'] }> = {
  get: { method: 'get', action: 'get', word: 'read', what: (k) => `read the specified ${k}`, query: [] },
  update: { method: 'put', action: 'put', word: 'replace', what: (k) => `replace the specified ${k}`, query: WRITE_QUERY, body: 'object' },
  patch: { method: 'patch', action: 'patch', word: 'patch', what: (k) => `partially update the specified ${k}`, query: [...WRITE_QUERY, 'force'], body: 'patch' },
  delete: { method: 'delete', action: 'delete', word: 'delete', what: (k) => `delete a ${k}`, query: DELETE_QUERY, body: 'deleteOptions', response: 'status' },
};

/** Connect-style subresources speak raw streams: their operations say `connect` and return text. */
const CONNECT = new Set(['exec', 'attach', 'portforward', 'proxy']);
const SUB_QUERY: Record<string, string[]> = {
  exec: ['command', 'container', 'stderr', 'stdin', 'stdout', 'tty'],
  attach: ['container', 'stderr', 'stdin', 'stdout', 'tty'],
  portforward: ['ports'],
  proxy: ['path'],
  log: ['container', 'follow', 'insecureSkipTLSVerifyBackend', 'limitBytes', 'previous', 'sinceSeconds', 'tailLines', 'timestamps'],
};
const CONNECT_METHODS: Record<string, string> = { create: 'post', get: 'get', delete: 'delete', patch: 'patch', update: 'put' };
const CONNECT_WORDS: Record<string, string> = { post: 'connectPost', get: 'connectGet', delete: 'connectDelete', patch: 'connectPatch', put: 'connectPut' };

function buildPaths(gv: GV, dialect: Dialect, into: JsonObject, roots: Set<string>): void {
  const prefix = '/' + gvPath(gv.group, gv.version);
  const tag = tagOf(gv);
  const gw = groupWord(gv.group) + upperFirst(gv.version);
  const prettyOnly = [queryParam('pretty', dialect)];

  for (const r of RESOURCES.filter((x) => x.group === gv.group && x.version === gv.version)) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const def = definitionNameForKind(r.group, r.version, r.kind);
    const listDef = definitionNameForKind(r.group, r.version, r.kind + 'List');
    if (def) roots.add(def);
    if (listDef) roots.add(listDef);
    const ns = r.namespaced ? 'Namespaced' : '';
    const nsParam = pathParam('namespace', 'object name and auth scope, such as for teams and projects', dialect);
    const nameParam = pathParam('name', `name of the ${r.kind}`, dialect);
    const base = r.namespaced ? `${prefix}/namespaces/{namespace}/${r.resource}` : `${prefix}/${r.resource}`;
    const verbs = new Set(r.verbs);

    // Collection.
    const coll: JsonObject = {};
    if (verbs.has('list'))
      coll.get = operation({ action: 'list', describe: `list or watch objects of kind ${r.kind}`, query: LIST_QUERY, response: 'object', watch: true }, gvk, listDef, `list${gw}${ns}${r.kind}`, tag, dialect);
    if (verbs.has('create'))
      coll.post = operation({ action: 'post', describe: `create a ${r.kind}`, query: WRITE_QUERY, body: 'object', response: 'object' }, gvk, def, `create${gw}${ns}${r.kind}`, tag, dialect);
    if (verbs.has('deletecollection'))
      coll.delete = operation(
        { action: 'deletecollection', describe: `delete collection of ${r.kind}`, query: [...DELETE_QUERY, ...LIST_QUERY.filter((q) => q !== 'watch' && q !== 'allowWatchBookmarks')], body: 'deleteOptions', response: 'status' },
        gvk, def, `delete${gw}Collection${ns}${r.kind}`, tag, dialect,
      );
    if (Object.keys(coll).length) {
      coll.parameters = r.namespaced ? [nsParam, ...prettyOnly] : prettyOnly;
      into[base] = coll;
    }
    // All-namespaces list of a namespaced resource.
    if (r.namespaced && verbs.has('list')) {
      const op = operation({ action: 'list', describe: `list or watch objects of kind ${r.kind}`, query: [], response: 'object', watch: true }, gvk, listDef, `list${gw}${r.kind}ForAllNamespaces`, tag, dialect);
      into[`${prefix}/${r.resource}`] = { get: op, parameters: [...LIST_QUERY.map((q) => queryParam(q, dialect)), ...prettyOnly] };
    }

    // Item.
    const item: JsonObject = {};
    for (const v of ['get', 'update', 'patch', 'delete']) {
      if (!verbs.has(v)) continue;
      const p = PRIMARY[v];
      const resp: Op['response'] = p.response ?? 'object';
      item[p.method] = operation({ action: p.action, describe: p.what(r.kind), query: p.query, body: p.body, response: resp }, gvk, def, `${p.word}${gw}${ns}${r.kind}`, tag, dialect);
    }
    if (Object.keys(item).length) {
      item.parameters = r.namespaced ? [nameParam, nsParam, ...prettyOnly] : [nameParam, ...prettyOnly];
      into[`${base}/{name}`] = item;
    }

    // Deprecated watch paths, still published by kube-apiserver.
    if (verbs.has('watch')) {
      const wq = [...LIST_QUERY.map((q) => queryParam(q, dialect)), ...prettyOnly];
      const wdef = META + 'WatchEvent';
      roots.add(wdef);
      const watchBase = r.namespaced ? `${prefix}/watch/namespaces/{namespace}/${r.resource}` : `${prefix}/watch/${r.resource}`;
      into[watchBase] = {
        get: operation({ action: 'watchlist', describe: `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`, query: [], response: 'object', watch: true }, gvk, wdef, `watch${gw}${ns}${r.kind}List`, tag, dialect),
        parameters: r.namespaced ? [...wq, nsParam] : wq,
      };
      into[`${watchBase}/{name}`] = {
        get: operation({ action: 'watch', describe: `watch changes to an object of kind ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`, query: [], response: 'object', watch: true }, gvk, wdef, `watch${gw}${ns}${r.kind}`, tag, dialect),
        parameters: r.namespaced ? [...wq, nameParam, nsParam] : [...wq, nameParam],
      };
      if (r.namespaced) {
        into[`${prefix}/watch/${r.resource}`] = {
          get: operation({ action: 'watchlist', describe: `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`, query: [], response: 'object', watch: true }, gvk, wdef, `watch${gw}${r.kind}ListForAllNamespaces`, tag, dialect),
          parameters: wq,
        };
      }
    }

    for (const sr of r.subresources ?? []) subresourcePaths(r, sr, gv, dialect, into, roots, { base, gw, ns, tag, nameParam, nsParam });
  }
}

function subresourcePaths(
  r: ResourceInfo,
  sr: SubresourceInfo,
  gv: GV,
  dialect: Dialect,
  into: JsonObject,
  roots: Set<string>,
  c: { base: string; gw: string; ns: string; tag: string; nameParam: JsonObject; nsParam: JsonObject },
): void {
  const gvk = { group: sr.group ?? r.group, version: sr.version ?? r.version, kind: sr.kind };
  const def = definitionNameForKind(gvk.group, gvk.version, gvk.kind);
  if (def) roots.add(def);
  const subWord = upperFirst(sr.name);
  const opBase = `${c.gw}${c.ns}${r.kind}${subWord}`;
  const itemParams = (extra: JsonObject[] = []): JsonObject[] => (r.namespaced ? [c.nameParam, c.nsParam, ...extra] : [c.nameParam, ...extra]);
  const path = `${c.base}/{name}/${sr.name}`;

  if (CONNECT.has(sr.name)) {
    const ops: JsonObject = {};
    for (const v of sr.verbs) {
      const method = CONNECT_METHODS[v];
      if (!method) continue;
      ops[method] = operation({ action: 'connect', describe: `connect ${method.toUpperCase()} requests to ${sr.name} of ${r.kind}`, query: SUB_QUERY[sr.name] ?? [], response: 'string' }, gvk, undefined, `${CONNECT_WORDS[method]}${opBase}`, c.tag, dialect);
    }
    into[path] = { ...ops, parameters: itemParams() };
    if (sr.name === 'proxy') {
      const withPath: JsonObject = {};
      for (const [m, o] of Object.entries(ops)) withPath[m] = { ...(o as JsonObject), operationId: `${(o as JsonObject).operationId as string}WithPath`, parameters: [] };
      into[`${path}/{path}`] = { ...withPath, parameters: itemParams([pathParam('path', 'path to the resource', dialect)]) };
    }
    return;
  }

  const ops: JsonObject = {};
  for (const v of sr.verbs) {
    if (v === 'get') {
      const isLog = sr.name === 'log';
      ops.get = operation({ action: 'get', describe: `read ${sr.name} of the specified ${r.kind}`, query: SUB_QUERY[sr.name] ?? [], response: isLog ? 'string' : 'object' }, gvk, def, `read${opBase}`, c.tag, dialect);
    } else if (v === 'update') {
      ops.put = operation({ action: 'put', describe: `replace ${sr.name} of the specified ${r.kind}`, query: WRITE_QUERY, body: 'object', response: 'object' }, gvk, def, `replace${opBase}`, c.tag, dialect);
    } else if (v === 'patch') {
      ops.patch = operation({ action: 'patch', describe: `partially update ${sr.name} of the specified ${r.kind}`, query: [...WRITE_QUERY, 'force'], body: 'patch', response: 'object' }, gvk, def, `patch${opBase}`, c.tag, dialect);
    } else if (v === 'create') {
      ops.post = operation({ action: 'post', describe: `create ${sr.name} of a ${r.kind}`, query: WRITE_QUERY, body: 'object', response: 'object' }, gvk, def, `create${opBase}`, c.tag, dialect);
    }
  }
  if (Object.keys(ops).length) into[path] = { ...ops, parameters: itemParams([queryParam('pretty', dialect)]) };
}

function sortedObject(o: JsonObject): JsonObject {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** Definitions every document needs for its operations, whatever the resources. */
const COMMON_ROOTS = [META + 'Status', META + 'DeleteOptions', META + 'Patch', META + 'APIResourceList'];

function sha512Upper(body: string): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

// ---- v3 --------------------------------------------------------------------------------------------------------

const v3Cache = new Map<string, { body: string; hash: string }>();

function buildV3(gv: GV): { body: string; hash: string } {
  const paths: JsonObject = {};
  const roots = new Set<string>(COMMON_ROOTS);
  buildPaths(gv, 'v3', paths, roots);
  const doc: JsonObject = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths: sortedObject(paths),
    components: {
      schemas: schemasFor(roots, 'v3'),
      securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    },
    security: [{ BearerToken: [] }],
  };
  const body = JSON.stringify(doc);
  return { body, hash: sha512Upper(body) };
}

/** The document for a group-version path such as "apis/apps/v1", or undefined when kite serves no such GV. */
export function openapiV3Document(path: string): { body: string; hash: string } | undefined {
  const key = path.replace(/^\/+|\/+$/g, '').replace(/^openapi\/v3\//, '');
  const cached = v3Cache.get(key);
  if (cached) return cached;
  const gv = servedGroupVersions().find((g) => gvPath(g.group, g.version) === key);
  if (!gv) return undefined;
  const built = buildV3(gv);
  v3Cache.set(key, built);
  return built;
}

/** GET /openapi/v3: each group-version's document URL, with a content hash so clients may cache it forever. */
export function openapiV3Index(): JsonObject {
  const paths: JsonObject = {};
  for (const gv of servedGroupVersions()) {
    const key = gvPath(gv.group, gv.version);
    const d = openapiV3Document(key);
    if (d) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${d.hash}` };
  }
  return { paths: sortedObject(paths) };
}

// ---- v2 --------------------------------------------------------------------------------------------------------

let v2Cache: { body: string; etag: string } | undefined;

/** GET /openapi/v2 as JSON: every served path and the definitions they reach, in swagger 2.0 form. */
export function openapiV2(): { body: string; etag: string } {
  if (v2Cache) return v2Cache;
  const paths: JsonObject = {};
  const roots = new Set<string>(COMMON_ROOTS);
  for (const gv of servedGroupVersions()) buildPaths(gv, 'v2', paths, roots);
  const doc: JsonObject = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths: sortedObject(paths),
    definitions: schemasFor(roots, 'v2'),
    securityDefinitions: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  };
  const body = JSON.stringify(doc);
  v2Cache = { body, etag: `"${sha512Upper(body)}"` };
  return v2Cache;
}

let v2ProtoCache: { body: Buffer; etag: string } | undefined;

/** GET /openapi/v2 in gnostic's protobuf form, the only form kubectl's client-side validation reads. */
export function openapiV2Protobuf(): { body: Buffer; etag: string } {
  if (v2ProtoCache) return v2ProtoCache;
  const body = encodeOpenapiV2(JSON.parse(openapiV2().body) as JsonObject);
  v2ProtoCache = { body, etag: `"${createHash('sha512').update(body).digest('hex').toUpperCase()}"` };
  return v2ProtoCache;
}

/** For tests and the build check: every kind kite serves must be described by the registry. */
export function missingKindSchemas(): string[] {
  const doc = schemaDocument();
  const out: string[] = [];
  for (const r of RESOURCES) {
    if (!doc.kinds[`${r.group}/${r.version}/${r.kind}`]) out.push(`${r.group}/${r.version}/${r.kind}`);
    for (const sr of r.subresources ?? []) {
      if (CONNECT.has(sr.name) || sr.name === 'log') continue;
      const g = sr.group ?? r.group;
      const v = sr.version ?? r.version;
      if (!doc.kinds[`${g}/${v}/${sr.kind}`]) out.push(`${g}/${v}/${sr.kind} (${r.resource}/${sr.name})`);
    }
  }
  return out;
}
