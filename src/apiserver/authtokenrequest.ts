import type { KubeObject } from '../api/object.js';
import { isPlainObject } from '../api/object.js';
import { StatusError, badRequest, invalid, methodNotAllowed, notFound, type StatusCause } from '../api/errors.js';
import { findResource } from '../api/resources.js';
import { decodeBody } from './codec.js';
import { readBody, type Ctx } from './handler.js';
import { sendJson } from './response.js';
import type { ObjectRef } from './authtokens.js';

// POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token: the TokenRequest API (`kubectl create token`,
// the kubelet's projected service-account tokens). Nothing is stored: the answer carries a signed token.

const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
const KIND = 'TokenRequest';
const GROUP = 'authentication.k8s.io';
const API_VERSION = `${GROUP}/v1`;

interface BoundObjectRef {
  kind?: string;
  apiVersion?: string;
  name?: string;
  uid?: string;
}

interface TokenRequestSpec {
  audiences: string[];
  expirationSeconds: number;
  boundObjectRef?: BoundObjectRef;
}

function get(ctx: Ctx, resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  return ctx.registries.get(findResource('', 'v1', resource)!).tryGet(namespace, name);
}

/** Decode and default the spec, answering 422 as kube-apiserver's TokenRequest validation does. */
function specOf(body: KubeObject, saName: string): TokenRequestSpec {
  const raw = isPlainObject(body.spec) ? (body.spec as Record<string, unknown>) : {};
  const causes: StatusCause[] = [];
  const audiences = raw.audiences ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string')) throw badRequest('TokenRequest: spec.audiences must be a list of strings');
  const exp = raw.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (typeof exp !== 'number' || !Number.isInteger(exp)) throw badRequest('TokenRequest: spec.expirationSeconds must be a whole number of seconds');
  if (exp < MIN_EXPIRATION_SECONDS) causes.push({ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${exp}: may not specify a duration less than 10 minutes` });
  if (exp > MAX_EXPIRATION_SECONDS) causes.push({ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: `Invalid value: ${exp}: may not specify a duration larger than 2^32 seconds` });
  if (causes.length) throw invalid(KIND, GROUP, saName, causes);
  const ref = raw.boundObjectRef;
  if (ref !== undefined && ref !== null && !isPlainObject(ref)) throw badRequest('TokenRequest: spec.boundObjectRef must be an object');
  return { audiences: audiences as string[], expirationSeconds: exp, boundObjectRef: (ref ?? undefined) as BoundObjectRef | undefined };
}

interface Binding {
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
}

const BINDABLE: Record<string, string> = { Pod: 'pods', Secret: 'secrets', Node: 'nodes' };

/** Resolve boundObjectRef to the live object: it must exist, match the given uid, and (a pod) run as this account. */
async function bind(ctx: Ctx, namespace: string, saName: string, ref: BoundObjectRef | undefined): Promise<Binding> {
  if (!ref || (!ref.kind && !ref.name)) return {};
  const resource = BINDABLE[ref.kind ?? ''];
  if (!resource || (ref.apiVersion ?? 'v1') !== 'v1') {
    throw badRequest(`cannot bind token for serviceaccount "${saName}" to object of kind "${ref.apiVersion ?? ''}, Kind=${ref.kind ?? ''}": a token can be bound to a v1 Pod, Secret or Node`);
  }
  if (!ref.name) throw invalid(KIND, GROUP, saName, [{ reason: 'FieldValueRequired', field: 'spec.boundObjectRef.name', message: 'Required value' }]);
  const obj = await get(ctx, resource, resource === 'nodes' ? undefined : namespace, ref.name);
  if (!obj) throw notFound(resource, '', ref.name);
  const uid = obj.metadata.uid ?? '';
  if (ref.uid && ref.uid !== uid) {
    throw new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${resource} "${ref.name}": the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      { name: ref.name, kind: resource },
    );
  }
  const self = { name: ref.name, uid };
  if (resource === 'secrets') return { secret: self };
  if (resource === 'nodes') return { node: self };
  const spec = (obj.spec ?? {}) as { serviceAccountName?: string; nodeName?: string };
  if ((spec.serviceAccountName || 'default') !== saName) {
    throw badRequest(`cannot bind token for serviceaccount "${saName}" to pod running with different serviceaccount name.`);
  }
  // The pod's node is named in the token too (ServiceAccountTokenPodNodeInfo), when the node is known.
  const node = spec.nodeName ? await get(ctx, 'nodes', undefined, spec.nodeName) : undefined;
  return { pod: self, ...(node ? { node: { name: spec.nodeName!, uid: node.metadata.uid ?? '' } } : {}) };
}

export async function handleTokenRequest(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.verb !== 'create') throw methodNotAllowed();
  const tokens = ctx.tokens;
  if (!tokens) throw new StatusError(404, 'NotFound', 'serviceaccounts/token is not served: this API server was started without a service-account signing key');
  const namespace = rr.namespace!;
  const saName = rr.name!;
  const decoded = decodeBody(await readBody(ctx.req), ctx.req.headers['content-type']).value;
  if (!isPlainObject(decoded)) throw badRequest('the body of the request was not a JSON object');
  const body = decoded as KubeObject;
  if ((body.apiVersion !== undefined && body.apiVersion !== API_VERSION) || (body.kind !== undefined && body.kind !== KIND)) {
    throw badRequest(`the object provided is unrecognized (must be of type ${KIND}): ${String(body.kind)} in version "${String(body.apiVersion)}" cannot be handled as a ${KIND}`);
  }
  const meta = isPlainObject(body.metadata) ? body.metadata : {};
  if (meta.name && meta.name !== saName) throw invalid(KIND, GROUP, meta.name, [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${meta.name}": must match the service account name if specified` }]);
  if (meta.namespace && meta.namespace !== namespace) throw invalid(KIND, GROUP, saName, [{ reason: 'FieldValueInvalid', field: 'metadata.namespace', message: `Invalid value: "${meta.namespace}": must match the service account namespace if specified` }]);
  const spec = specOf(body, saName);
  const sa = await get(ctx, 'serviceaccounts', namespace, saName);
  if (!sa) throw notFound('serviceaccounts', '', saName);
  const binding = await bind(ctx, namespace, saName, spec.boundObjectRef);
  const audiences = spec.audiences.length ? spec.audiences : [...tokens.apiAudiences];
  const issued = Date.now();
  const { token } = tokens.issue({
    namespace,
    serviceAccount: { name: saName, uid: sa.metadata.uid ?? '' },
    audiences,
    expirationSeconds: spec.expirationSeconds,
    now: Math.floor(issued / 1000),
    ...binding,
  });
  // The answer is the request with defaults filled in and status set; its expiry is the one asked for, even
  // when the token itself was made to live longer (see WARN_ONLY_EXPIRATION_SECONDS).
  const expirationTimestamp = new Date(Math.floor(issued / 1000) * 1000 + spec.expirationSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  sendJson(ctx.req, ctx.res, 201, {
    kind: KIND,
    apiVersion: API_VERSION,
    metadata: { ...meta, creationTimestamp: null },
    spec: { audiences, expirationSeconds: spec.expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
    status: { token, expirationTimestamp },
  });
}
