import type { KubeObject } from '../api/object.js';
import { isPlainObject } from '../api/object.js';
import { badRequest, methodNotAllowed } from '../api/errors.js';
import { apiVersionOf } from '../api/resources.js';
import { decodeBody } from './codec.js';
import { readBody, type Ctx } from './handler.js';
import { sendJson } from './response.js';
import { userOf } from './authn.js';

// Access and identity reviews (`kubectl auth can-i`, `kubectl auth whoami`). Every authenticated caller is a
// cluster admin until RBAC is enforced, so every question is answered "allowed"; whoami names the authenticated user.

const ADMIN = { username: 'system:admin', groups: ['system:masters', 'system:authenticated'] };

export async function handleReview(ctx: Ctx): Promise<void> {
  const { rr } = ctx;
  if (rr.verb !== 'create' || rr.name) throw methodNotAllowed();
  const body = decodeBody(await readBody(ctx.req), ctx.req.headers['content-type']).value;
  if (!isPlainObject(body)) throw badRequest('the body of the request was not a JSON object');
  const review = body as KubeObject;
  review.apiVersion = apiVersionOf(rr.info);
  review.kind = rr.info.kind;
  review.metadata = { ...(isPlainObject(review.metadata) ? review.metadata : {}), creationTimestamp: undefined };
  delete review.metadata.creationTimestamp;
  switch (rr.info.kind) {
    case 'SelfSubjectAccessReview':
    case 'SubjectAccessReview':
    case 'LocalSubjectAccessReview':
      review.status = { allowed: true, reason: 'kite: every authenticated user is a cluster admin (RBAC is not enforced yet)' };
      break;
    case 'SelfSubjectRulesReview':
      review.status = {
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        incomplete: false,
      };
      break;
    case 'SelfSubjectReview':
      review.status = { userInfo: userOf(ctx.req) ?? ADMIN };
      break;
  }
  sendJson(ctx.req, ctx.res, 201, review);
}
