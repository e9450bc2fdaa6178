import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonObject, JsonValue, KubeObject } from '../api/object.js';
import { clone, isPlainObject } from '../api/object.js';
import { apiVersionOf, findKind, type ResourceInfo } from '../api/resources.js';
import { StatusError, badRequest, methodNotAllowed, notFound, tooLarge, unsupportedMediaType } from '../api/errors.js';
import { parseLabelSelector, matchesLabels, formatLabelSelector } from '../api/selectors.js';
import { parseFieldSelector, fieldsOf, validateFieldSelector, matchesFields } from '../api/fields.js';
import { tableFor } from '../api/printers/index.js';
import { checkAndPrune } from '../api/schema/fieldcheck.js';
import { schemaForKind } from '../api/schema/registry.js';
import { applyJsonPatch } from '../api/patch/jsonpatch.js';
import { applyMergePatchInPlace } from '../api/patch/mergepatch.js';
import { strategicMergePatch } from '../api/patch/strategic.js';
import { serverSideApply } from '../api/patch/apply.js';
import { decodeBody, mediaType, PATCH_TYPES, type PatchType } from './codec.js';
import { sendJson, warningHeader } from './response.js';
import type { GenericRegistry, DeleteOptions } from './registry/generic.js';
import type { ResourceRequest } from './requestinfo.js';
import { serveWatch } from './watch.js';
import { handleReview } from './reviews.js';
import type { Registries } from './registries.js';
import type { ServiceAccountTokens } from './authtokens.js';
import { handleTokenRequest } from './authtokenrequest.js';

// Resource requests: decode, run the generic registry, encode (JSON or Table). One function per verb.

const MAX_BODY = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (b: Buffer) => {
      if (failed) return;
      size += b.length;
      if (size > MAX_BODY) {
        // Keep draining what is left, so the 413 reaches a client that is still sending.
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(b);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  rr: ResourceRequest;
  registries: Registries;
  /** Signs service-account tokens (serviceaccounts/token); without it that subresource answers 404. */
  tokens?: ServiceAccountTokens;
}

type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

function fieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation parameter must be one of "Ignore", "Warn", or "Strict", not "${v}"`);
}

function dryRunOf(q: URLSearchParams): boolean {
  const vals = q.getAll('dryRun');
  for (const v of vals) if (v !== 'All') throw badRequest(`Invalid dry run value: "${v}". Supported values: "All"`);
  return vals.length > 0;
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(String(req.headers.accept ?? ''));
}

function tableOpts(url: URL) {
  const io = url.searchParams.get('includeObject');
  return { now: Date.now(), includeObject: (io === 'Object' || io === 'None' ? io : 'Metadata') as 'Object' | 'None' | 'Metadata' };
}

/** The version the client speaks for this request, converting when it differs from storage. */
function toClientVersion(rr: ResourceRequest, obj: KubeObject, registries: Registries): KubeObject {
  return registries.convert(obj, rr.info);
}

function respondObject(ctx: Ctx, code: number, obj: KubeObject, warnings: string[] = []): void {
  const out = toClientVersion(ctx.rr, obj, ctx.registries);
  if (wantsTable(ctx.req) && !ctx.rr.subresource) {
    const table = tableFor(ctx.rr.info, [out], tableOpts(ctx.url));
    table.metadata = { resourceVersion: out.metadata.resourceVersion };
    sendJson(ctx.req, ctx.res, code, table, 'application/json', warningHeader(warnings));
    return;
  }
  sendJson(ctx.req, ctx.res, code, out, 'application/json', warningHeader(warnings));
}

/** Decode a body, check it names the right kind, and apply field validation. */
function decodeObject(ctx: Ctx, body: Buffer, expect: { group: string; version: string; kind: string }): { obj: KubeObject; warnings: string[] } {
  const { value, duplicates } = decodeBody(body, ctx.req.headers['content-type']);
  if (!isPlainObject(value)) throw badRequest(`the body of the request was not a JSON object`);
  const obj = value as KubeObject;
  const wantApiVersion = expect.group ? `${expect.group}/${expect.version}` : expect.version;
  if (obj.apiVersion !== undefined && obj.apiVersion !== wantApiVersion) {
    const other = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
    const [g, v] = other.includes('/') ? other.split('/') : ['', other];
    // A different version of the same group is converted when kite serves it; anything else is refused.
    if (!(g === expect.group && findKind(g!, v!, expect.kind))) {
      throw badRequest(`the API version in the data (${other}) does not match the expected API version (${wantApiVersion})`);
    }
  }
  if (obj.kind !== undefined && obj.kind !== expect.kind) {
    throw badRequest(`the object provided is unrecognized (must be of type ${expect.kind}): ${String(obj.kind)} in version "${expect.version}" cannot be handled as a ${expect.kind}`);
  }
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  if (!isPlainObject(obj.metadata)) throw badRequest(`${expect.kind} in version "${expect.version}" cannot be handled as a ${expect.kind}: metadata must be an object`);
  const fv = fieldValidation(ctx.url.searchParams);
  // The decoded body is ours: checked and pruned in one walk (it is dropped when the check fails).
  const check = checkAndPrune(obj, expect);
  const warnings: string[] = [];
  if (check.typeErrors.length) {
    const te = check.typeErrors[0]!;
    throw badRequest(`${expect.kind} in version "${expect.version}" cannot be handled as a ${expect.kind}: ${te.message}`);
  }
  const problems = [...check.unknown.map((f) => `unknown field "${f}"`), ...duplicates.map((f) => `duplicate field "${f}"`)];
  if (problems.length && fv === 'Strict') {
    throw badRequest(`${expect.kind} in version "${expect.version}" cannot be handled as a ${expect.kind}: strict decoding error: ${problems.join(', ')}`);
  }
  if (fv === 'Warn') warnings.push(...problems);
  return { obj, warnings };
}

function checkNamespace(ctx: Ctx, obj: KubeObject): void {
  const { rr } = ctx;
  if (!rr.info.namespaced) {
    delete obj.metadata.namespace;
    return;
  }
  const ns = rr.namespace;
  if (!ns) throw badRequest('the server could not find the requested resource: a namespace is required');
  if (obj.metadata.namespace && obj.metadata.namespace !== ns) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  obj.metadata.namespace = ns;
}

export async function handleResource(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.info.virtual) return handleReview(ctx);
  const sub = rr.subresource;
  if (sub) return handleSubresource(ctx, sub);
  switch (rr.verb) {
    case 'get':
      return doGet(ctx);
    case 'list':
      return doList(ctx);
    case 'watch':
      return serveWatch(ctx);
    case 'create':
      return doCreate(ctx);
    case 'update':
      return doUpdate(ctx);
    case 'patch':
      return doPatch(ctx);
    case 'delete':
      return doDelete(ctx);
    case 'deletecollection':
      return doDeleteCollection(ctx);
  }
}

function registryOf(ctx: Ctx): GenericRegistry {
  return ctx.registries.get(ctx.rr.info);
}

async function doGet(ctx: Ctx): Promise<void> {
  const obj = await registryOf(ctx).get(ctx.rr.namespace, ctx.rr.name!);
  respondObject(ctx, 200, obj);
}

export interface Filter {
  (o: KubeObject): boolean;
}

export function selectorFilter(info: ResourceInfo, q: URLSearchParams): Filter | undefined {
  const ls = q.get('labelSelector');
  const fs = q.get('fieldSelector');
  let label: ReturnType<typeof parseLabelSelector> | undefined;
  let field: ReturnType<typeof parseFieldSelector> | undefined;
  try {
    if (ls) label = parseLabelSelector(ls);
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  try {
    if (fs) {
      field = validateFieldSelector(info, parseFieldSelector(fs));
    }
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw badRequest((e as Error).message);
  }
  if (!label && !field) return undefined;
  return (o: KubeObject) => (!label || matchesLabels(label, o.metadata.labels ?? {})) && (!field || matchesFields(field, fieldsOf(info, o)));
}

interface ContinueToken {
  rv: number;
  after: string;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof t.rv !== 'number' || typeof t.after !== 'string') throw new Error('bad token');
    return t;
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

async function doList(ctx: Ctx): Promise<void> {
  const { rr, url } = ctx;
  const q = url.searchParams;
  const filter = selectorFilter(rr.info, q);
  const limit = Number(q.get('limit') ?? 0) || 0;
  const cont = q.get('continue');
  let revision: number | undefined;
  let after: string | undefined;
  let cached = false;
  if (cont) {
    const t = decodeContinue(cont);
    revision = t.rv;
    after = t.after;
  } else {
    const rv = q.get('resourceVersion');
    const match = q.get('resourceVersionMatch');
    if (rv && !/^\d+$/.test(rv)) throw badRequest(`resourceVersion: Invalid value: "${rv}": must be a non-negative integer`);
    if (rv && rv !== '0' && match === 'Exact') revision = Number(rv);
    cached = rv === '0' && match !== 'Exact';
  }
  const reg = registryOf(ctx);
  const r = await reg.list(rr.namespace, { revision, limit, after, filter, cached });
  const metadata: Record<string, unknown> = { resourceVersion: String(r.revision) };
  if (r.more && r.lastKey) metadata.continue = Buffer.from(JSON.stringify({ rv: r.revision, after: r.lastKey })).toString('base64url');
  const items = r.items.map((o) => toClientVersion(rr, o, ctx.registries));
  if (wantsTable(ctx.req)) {
    const table = tableFor(rr.info, items, tableOpts(url));
    table.metadata = metadata;
    sendJson(ctx.req, ctx.res, 200, table);
    return;
  }
  sendJson(ctx.req, ctx.res, 200, { kind: `${rr.info.kind}List`, apiVersion: apiVersionOf(rr.info), metadata, items });
}

function fieldManager(ctx: Ctx, fallback: string): string {
  const fm = ctx.url.searchParams.get('fieldManager');
  if (fm && fm.length > 128) throw badRequest('fieldManager: Too long: may not be more than 128 bytes');
  return fm || fallback;
}

function userAgentManager(ctx: Ctx): string {
  const ua = String(ctx.req.headers['user-agent'] ?? 'unknown');
  return ua.split('/')[0] || 'unknown';
}

async function doCreate(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.name) throw methodNotAllowed();
  const body = await readBody(ctx.req);
  const { obj, warnings } = decodeObject(ctx, body, { group: rr.group, version: rr.version, kind: rr.info.kind });
  checkNamespace(ctx, obj);
  await ctx.registries.admitNamespace(rr.info, obj.metadata.namespace, obj.metadata.name ?? obj.metadata.generateName ?? '');
  const stored = ctx.registries.toStorage(obj, rr.info);
  const created = await registryOf(ctx).create(stored, { dryRun: dryRunOf(ctx.url.searchParams), fieldManager: fieldManager(ctx, userAgentManager(ctx)) });
  respondObject(ctx, 201, created, warnings);
}

async function doUpdate(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  const body = await readBody(ctx.req);
  const { obj, warnings } = decodeObject(ctx, body, { group: rr.group, version: rr.version, kind: rr.info.kind });
  checkNamespace(ctx, obj);
  if (obj.metadata.name && obj.metadata.name !== rr.name) {
    throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${rr.name})`);
  }
  obj.metadata.name = rr.name;
  const desired = ctx.registries.toStorage(obj, rr.info);
  const { object } = await registryOf(ctx).update(rr.namespace, rr.name!, desired, {
    dryRun: dryRunOf(ctx.url.searchParams),
    fieldManager: fieldManager(ctx, userAgentManager(ctx)),
  });
  respondObject(ctx, 200, object, warnings);
}

function patchTypeOf(ctx: Ctx): PatchType {
  const mt = mediaType(ctx.req.headers['content-type']);
  if (!(PATCH_TYPES as readonly string[]).includes(mt)) throw unsupportedMediaType(mt, [...PATCH_TYPES]);
  return mt as PatchType;
}

/** Apply a non-apply patch to an object in the client's version. `current` is the caller's own copy, and a
 *  merge patch changes it in place: every caller hands in a fresh copy of the live object. */
export function applyPatch(type: PatchType, current: KubeObject, body: Buffer, gvk: { group: string; version: string; kind: string }): KubeObject {
  let patch: unknown;
  try {
    patch = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  try {
    switch (type) {
      case 'application/json-patch+json':
        if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
        return applyJsonPatch(current as unknown as JsonValue, patch) as unknown as KubeObject;
      case 'application/merge-patch+json':
        if (!isPlainObject(patch)) throw badRequest('merge patch must be a JSON object');
        return applyMergePatchInPlace(current as unknown as JsonObject, patch) as unknown as KubeObject;
      case 'application/strategic-merge-patch+json':
        if (!isPlainObject(patch)) throw badRequest('strategic merge patch must be a JSON object');
        return strategicMergePatch(current as unknown as JsonObject, patch, schemaForKind(gvk.group, gvk.version, gvk.kind)) as unknown as KubeObject;
      default:
        throw unsupportedMediaType(type, [...PATCH_TYPES]);
    }
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw new StatusError(422, 'Invalid', (e as Error).message);
  }
}

async function doPatch(ctx: Ctx): Promise<void> {
  const { rr, url } = ctx;
  const type = patchTypeOf(ctx);
  const body = await readBody(ctx.req);
  const dryRun = dryRunOf(url.searchParams);
  const reg = registryOf(ctx);
  const gvk = { group: rr.group, version: rr.version, kind: rr.info.kind };
  let warnings: string[] = [];
  if (type === 'application/apply-patch+yaml') {
    const manager = url.searchParams.get('fieldManager');
    if (!manager) throw badRequest('PATCH, application/apply-patch+yaml requests require fieldManager to be specified');
    const force = url.searchParams.get('force') === 'true';
    const decoded = decodeObject({ ...ctx, req: withContentType(ctx.req, 'application/yaml') }, body, gvk);
    warnings = decoded.warnings;
    const applied = decoded.obj;
    checkNamespace(ctx, applied);
    if (applied.metadata.name && applied.metadata.name !== rr.name) throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${rr.name})`);
    applied.metadata.name = rr.name;
    const schema = schemaForKind(gvk.group, gvk.version, gvk.kind);
    const { object, created } = await reg.update(
      rr.namespace,
      rr.name!,
      (live) => {
        const liveClient = toClientVersion(rr, live, ctx.registries);
        const merged = serverSideApply(liveClient, applied, manager, force, schema, apiVersionOf(rr.info), new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')).object;
        // Only a resourceVersion in the applied configuration is a precondition; otherwise a lost race with
        // another writer is retried against the new live object.
        if (applied.metadata.resourceVersion) merged.metadata.resourceVersion = applied.metadata.resourceVersion;
        else delete merged.metadata.resourceVersion;
        return ctx.registries.toStorage(merged, rr.info);
      },
      {
        dryRun,
        fieldManager: manager,
        applied: true,
        createIfMissing: async () => {
          await ctx.registries.admitNamespace(rr.info, applied.metadata.namespace, rr.name);
          const fresh = serverSideApply(undefined, clone(applied), manager, force, schema, apiVersionOf(rr.info), new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')).object;
          return reg.create(ctx.registries.toStorage(fresh, rr.info), { dryRun, fieldManager: manager, applied: true });
        },
      },
    );
    respondObject(ctx, created ? 201 : 200, object, warnings);
    return;
  }
  const manager = fieldManager(ctx, userAgentManager(ctx));
  const { object } = await reg.update(
    rr.namespace,
    rr.name!,
    (live) => {
      const liveRv = live.metadata.resourceVersion;
      const liveClient = toClientVersion(rr, live, ctx.registries);
      const patched = applyPatch(type, liveClient, body, gvk);
      if (!isPlainObject(patched.metadata)) patched.metadata = {};
      const check = checkAndPrune(patched, gvk);
      if (check.typeErrors.length) throw badRequest(`${gvk.kind} in version "${gvk.version}" cannot be handled as a ${gvk.kind}: ${check.typeErrors[0]!.message}`);
      const fv = fieldValidation(url.searchParams);
      if (check.unknown.length && fv === 'Strict') throw badRequest(`${gvk.kind} in version "${gvk.version}" cannot be handled as a ${gvk.kind}: strict decoding error: ${check.unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
      if (fv === 'Warn') warnings = check.unknown.map((f) => `unknown field "${f}"`);
      // A patch that does not name a resourceVersion is applied to whatever is live, retried on conflict.
      const patchedRv = patched.metadata.resourceVersion;
      if (patchedRv === liveRv) delete patched.metadata.resourceVersion;
      const stored = ctx.registries.toStorage(patched, rr.info);
      if (patchedRv && patchedRv !== liveRv) stored.metadata.resourceVersion = patchedRv;
      return stored;
    },
    { dryRun, fieldManager: manager },
  );
  respondObject(ctx, 200, object, warnings);
}

function withContentType(req: IncomingMessage, ct: string): IncomingMessage {
  return new Proxy(req, {
    get(target, prop, receiver) {
      if (prop === 'headers') return { ...target.headers, 'content-type': ct };
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

async function deleteOptionsOf(ctx: Ctx): Promise<DeleteOptions> {
  const q = ctx.url.searchParams;
  const body = await readBody(ctx.req);
  let o: Record<string, unknown> = {};
  if (body.length) {
    const d = decodeBody(body, ctx.req.headers['content-type']).value;
    if (isPlainObject(d)) o = d;
  }
  const grace = q.get('gracePeriodSeconds') ?? (o.gracePeriodSeconds as number | undefined);
  const prop = q.get('propagationPolicy') ?? (o.propagationPolicy as string | undefined) ?? (o.orphanDependents === true ? 'Orphan' : undefined);
  if (prop !== undefined && prop !== null && !['Background', 'Foreground', 'Orphan'].includes(prop)) {
    throw new StatusError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${prop}": supported values: "Foreground", "Background", "Orphan", "nil"`);
  }
  const dryRun = dryRunOf(q) || (Array.isArray(o.dryRun) && (o.dryRun as string[]).includes('All'));
  return {
    dryRun,
    gracePeriodSeconds: grace === undefined || grace === null ? undefined : Number(grace),
    propagationPolicy: (prop ?? undefined) as DeleteOptions['propagationPolicy'],
    preconditions: isPlainObject(o.preconditions) ? (o.preconditions as DeleteOptions['preconditions']) : undefined,
  };
}

const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

async function doDelete(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.info.kind === 'Namespace' && !rr.group && UNDELETABLE_NAMESPACES.has(rr.name!)) {
    throw new StatusError(403, 'Forbidden', `namespaces "${rr.name}" is forbidden: this namespace may not be deleted`, { name: rr.name, kind: 'namespaces' });
  }
  const opts = await deleteOptionsOf(ctx);
  const { object, deleted } = await registryOf(ctx).delete(rr.namespace, rr.name!, opts);
  if (deleted && rr.info.kind !== 'Pod') {
    sendJson(ctx.req, ctx.res, 200, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: rr.name, group: rr.group, kind: rr.info.resource, uid: object.metadata.uid },
    });
    return;
  }
  // Deletion still pending (graceful, finalizers): 202, as kube-apiserver answers.
  respondObject(ctx, deleted || opts.dryRun ? 200 : 202, object);
}

async function doDeleteCollection(ctx: Ctx): Promise<void> {
  const { rr, url } = ctx;
  const opts = await deleteOptionsOf(ctx);
  const reg = registryOf(ctx);
  const r = await reg.list(rr.namespace, { filter: selectorFilter(rr.info, url.searchParams) });
  const items: KubeObject[] = [];
  for (const o of r.items) {
    try {
      items.push((await reg.delete(o.metadata.namespace, o.metadata.name!, opts)).object);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
  }
  sendJson(ctx.req, ctx.res, 200, { kind: `${rr.info.kind}List`, apiVersion: apiVersionOf(rr.info), metadata: { resourceVersion: String(r.revision) }, items });
}

// ---- subresources ----------------------------------------------------------------------------------------

async function handleSubresource(ctx: Ctx, sub: string): Promise<void> {
  const { rr } = ctx;
  const known = rr.info.subresources?.find((s) => s.name === sub);
  if (!known || !rr.name) throw notFound(rr.info.resource, rr.group, rr.name ?? '');
  switch (sub) {
    case 'status':
      return handleStatus(ctx);
    case 'scale':
      return handleScale(ctx);
    case 'binding':
      return handleBinding(ctx);
    case 'eviction':
      return handleEviction(ctx);
    case 'finalize':
      return handleFinalize(ctx);
    case 'token':
      return handleTokenRequest(ctx);
    default:
      return ctx.registries.handleStreaming(ctx, sub);
  }
}

async function handleStatus(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  const reg = registryOf(ctx);
  if (rr.verb === 'get') return respondObject(ctx, 200, await reg.get(rr.namespace, rr.name!));
  const gvk = { group: rr.group, version: rr.version, kind: rr.info.kind };
  const dryRun = dryRunOf(ctx.url.searchParams);
  if (rr.verb === 'update') {
    const body = await readBody(ctx.req);
    const { obj } = decodeObject(ctx, body, gvk);
    checkNamespace(ctx, obj);
    const desired = ctx.registries.toStorage(obj, rr.info);
    const { object } = await reg.update(rr.namespace, rr.name!, desired, { dryRun, subresource: 'status', fieldManager: fieldManager(ctx, userAgentManager(ctx)) });
    return respondObject(ctx, 200, object);
  }
  if (rr.verb === 'patch') {
    const type = patchTypeOf(ctx);
    if (type === 'application/apply-patch+yaml') throw unsupportedMediaType(type, PATCH_TYPES.slice(0, 3));
    const body = await readBody(ctx.req);
    const { object } = await reg.update(
      rr.namespace,
      rr.name!,
      (live) => {
        const liveRv = live.metadata.resourceVersion;
        const patched = applyPatch(type, toClientVersion(rr, live, ctx.registries), body, gvk);
        if (patched.metadata?.resourceVersion === liveRv) delete patched.metadata.resourceVersion;
        return ctx.registries.toStorage(patched, rr.info);
      },
      { dryRun, subresource: 'status', fieldManager: fieldManager(ctx, userAgentManager(ctx)) },
    );
    return respondObject(ctx, 200, object);
  }
  throw methodNotAllowed();
}

function scaleOf(obj: KubeObject): KubeObject {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: unknown };
  const status = (obj.status ?? {}) as { replicas?: number };
  // Apps kinds carry a metav1.LabelSelector; a ReplicationController a plain label map.
  const sel = spec.selector;
  let selector = '';
  if (isPlainObject(sel)) selector = 'matchLabels' in sel || 'matchExpressions' in sel ? formatLabelSelector(sel as never) : formatLabelSelector({ matchLabels: sel as Record<string, string> });
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, ...(selector ? { selector } : {}) },
  };
}

async function handleScale(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  const reg = registryOf(ctx);
  if (rr.verb === 'get') return sendJson(ctx.req, ctx.res, 200, scaleOf(await reg.get(rr.namespace, rr.name!)));
  const body = await readBody(ctx.req);
  const dryRun = dryRunOf(ctx.url.searchParams);
  let type: PatchType | undefined;
  if (rr.verb === 'patch') type = patchTypeOf(ctx);
  else if (rr.verb !== 'update') throw methodNotAllowed();
  const { object } = await reg.update(
    rr.namespace,
    rr.name!,
    (live) => {
      const current = scaleOf(live);
      let desired: KubeObject;
      if (type) {
        desired = applyPatch(type, current, body, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
      } else {
        const d = decodeBody(body, ctx.req.headers['content-type']).value;
        if (!isPlainObject(d)) throw badRequest('the body of the request was not a JSON object');
        desired = d as KubeObject;
        if (!isPlainObject(desired.metadata)) desired.metadata = {};
      }
      const replicas = (desired.spec as { replicas?: unknown } | undefined)?.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
        throw new StatusError(422, 'Invalid', `Scale.autoscaling "${rr.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be an integer`);
      }
      if (replicas < 0) {
        throw new StatusError(422, 'Invalid', `Scale.autoscaling "${rr.name}" is invalid: spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`, {
          name: rr.name,
          group: 'autoscaling',
          kind: 'Scale',
          causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${replicas}: must be greater than or equal to 0`, field: 'spec.replicas' }],
        });
      }
      const next = clone(live);
      (next.spec as { replicas?: number }).replicas = replicas;
      const rv = desired.metadata?.resourceVersion;
      if (rv && rv !== live.metadata.resourceVersion) next.metadata.resourceVersion = rv;
      else delete next.metadata.resourceVersion;
      return next;
    },
    { dryRun, subresource: 'scale', fieldManager: fieldManager(ctx, userAgentManager(ctx)) },
  );
  sendJson(ctx.req, ctx.res, 200, scaleOf(object));
}

async function handleBinding(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.verb !== 'create') throw methodNotAllowed();
  const body = await readBody(ctx.req);
  const binding = decodeBody(body, ctx.req.headers['content-type']).value as { target?: { name?: string; kind?: string }; metadata?: { name?: string } };
  const node = binding?.target?.name;
  if (!node) throw new StatusError(422, 'Invalid', `Binding "${rr.name}" is invalid: target.name: Required value`);
  await registryOf(ctx).update(
    rr.namespace,
    rr.name!,
    (pod) => {
      const spec = pod.spec as { nodeName?: string };
      if (pod.metadata.deletionTimestamp) throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${rr.name}": pod ${rr.name} is being deleted, cannot be assigned to a host`);
      if (spec.nodeName) throw new StatusError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${rr.name}": pod ${rr.name} is already assigned to node "${spec.nodeName}"`);
      spec.nodeName = node;
      const status = (pod.status ?? (pod.status = {})) as { conditions?: Array<Record<string, unknown>> };
      const conds = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
      status.conditions = conds;
      return pod;
    },
    { subresource: 'binding', fieldManager: 'kube-scheduler' },
  );
  sendJson(ctx.req, ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

async function handleEviction(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.verb !== 'create') throw methodNotAllowed();
  const body = await readBody(ctx.req);
  const ev = (body.length ? decodeBody(body, ctx.req.headers['content-type']).value : {}) as { deleteOptions?: { gracePeriodSeconds?: number; preconditions?: DeleteOptions['preconditions'] } };
  await ctx.registries.get(rr.info).delete(rr.namespace, rr.name!, {
    gracePeriodSeconds: ev.deleteOptions?.gracePeriodSeconds,
    preconditions: ev.deleteOptions?.preconditions,
  });
  sendJson(ctx.req, ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

async function handleFinalize(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.verb !== 'update') throw methodNotAllowed();
  const body = await readBody(ctx.req);
  const obj = decodeBody(body, ctx.req.headers['content-type']).value as KubeObject;
  const finalizers = ((obj?.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).slice();
  const { object } = await registryOf(ctx).update(undefined, rr.name!, (ns) => {
    // With spec.finalizers empty and no metadata finalizers, the registry completes a pending deletion.
    ns.spec = { ...((ns.spec as Record<string, unknown> | undefined) ?? {}), finalizers: finalizers.slice() };
    return ns;
  }, { subresource: 'finalize', fieldManager: fieldManager(ctx, userAgentManager(ctx)) });
  respondObject(ctx, 200, object);
}
