import type { JsonObject, JsonValue } from '../object.js';
import { patchBadRequest, patchTooLarge, patchUnprocessable } from './errors.js';
import { cloneJson, deepEqual, isJsonObject } from './json.js';

// RFC 6902 JSON patch, as kube-apiserver applies it (kubectl sends it for `rollout undo` and for the
// client-side-apply → server-side-apply managedFields migration). A malformed document is a 400; an operation
// that does not fit the object (missing path, failed test) is a 422, whose message kube-apiserver replaces with a
// fixed sentence; PatchError.detail keeps the precise reason.

/** kube-apiserver refuses longer patches with 413. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: JsonValue;
}

/** Checks the shape of a decoded JSON patch body and returns its operations. */
export function decodeJsonPatch(body: unknown): JsonPatchOperation[] {
  if (!Array.isArray(body)) {
    const t = isJsonObject(body) ? 'object' : body === null ? 'null' : typeof body;
    throw patchBadRequest(`json: cannot unmarshal ${t} into Go value of type jsonpatch.Patch`);
  }
  if (body.length > MAX_JSON_PATCH_OPERATIONS) {
    throw patchTooLarge(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${body.length}`);
  }
  return body.map((op, i) => {
    if (!isJsonObject(op)) throw patchBadRequest(`json: cannot unmarshal ${Array.isArray(op) ? 'array' : typeof op} into Go value of type jsonpatch.Operation (operation ${i})`);
    return op as unknown as JsonPatchOperation;
  });
}

/** Applies an RFC 6902 patch to a copy of `doc`. */
export function applyJsonPatch(doc: JsonValue, body: unknown): JsonValue {
  const ops = decodeJsonPatch(body);
  // The root is kept in a holder so that operations on "" need no special casing.
  const holder: JsonObject = { root: cloneJson(doc) };
  for (const op of ops) applyOne(holder, op);
  return holder.root;
}

function applyOne(holder: JsonObject, op: JsonPatchOperation): void {
  const kind = op.op as unknown;
  if (typeof op.path !== 'string') {
    if (typeof kind === 'string' && ['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(kind)) {
      throw patchUnprocessable(`${kind} operation missing path field`);
    }
  }
  const value = op.value === undefined ? null : op.value;
  switch (kind) {
    case 'add':
      add(holder, op.path, cloneJson(value), 'add');
      return;
    case 'remove':
      remove(holder, op.path, 'remove');
      return;
    case 'replace':
      replace(holder, op.path, cloneJson(value));
      return;
    case 'move': {
      const from = requireFrom(op);
      if (op.path !== from && op.path.startsWith(from + '/')) {
        throw patchUnprocessable(`move operation does not apply: from "${from}" is a prefix of path "${op.path}"`);
      }
      const v = remove(holder, from, 'move');
      add(holder, op.path, v, 'move');
      return;
    }
    case 'copy': {
      const from = requireFrom(op);
      const v = get(holder, from);
      if (v === undefined) throw patchUnprocessable(`copy operation does not apply: doc is missing from path: "${from}": missing value`);
      add(holder, op.path, cloneJson(v), 'copy');
      return;
    }
    case 'test': {
      const v = get(holder, op.path);
      if (v === undefined && value === null) return;
      if (v === undefined || !deepEqual(v, value)) throw patchUnprocessable(`testing value ${op.path} failed: test failed`);
      return;
    }
    default:
      throw patchUnprocessable(`Unexpected kind: ${String(kind)}`);
  }
}

function requireFrom(op: JsonPatchOperation): string {
  if (typeof op.from !== 'string') throw patchUnprocessable(`${op.op} operation missing from field`);
  return op.from;
}

/** Splits a JSON pointer into unescaped tokens, prefixed with the holder's "root" token. */
function tokens(pointer: string): string[] {
  if (pointer === '') return ['root'];
  if (!pointer.startsWith('/')) throw patchUnprocessable(`JSON pointer must be empty or start with a "/": ${JSON.stringify(pointer)}`);
  return ['root', ...pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))];
}

/** The container holding the pointer's last token, or undefined when a parent is missing. */
function parentOf(holder: JsonObject, toks: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = holder;
  for (let i = 0; i < toks.length - 1; i++) {
    cur = child(cur, toks[i]);
    if (cur === undefined) return undefined;
  }
  return cur;
}

function child(cur: JsonValue | undefined, tok: string): JsonValue | undefined {
  if (Array.isArray(cur)) {
    const i = arrayIndex(tok, cur.length, false);
    return i === undefined || i >= cur.length ? undefined : cur[i];
  }
  if (isJsonObject(cur)) return Object.prototype.hasOwnProperty.call(cur, tok) ? cur[tok] : undefined;
  return undefined;
}

/** A decimal array index; negative indices count from the end (evanphx/json-patch v4 accepts them). */
function arrayIndex(tok: string, length: number, forAdd: boolean): number | undefined {
  if (!/^-?\d+$/.test(tok)) return undefined;
  let i = Number(tok);
  if (i < 0) {
    if (-i > length) return undefined;
    i += length;
  }
  if (i > length || (!forAdd && i === length)) return undefined;
  return i;
}

function get(holder: JsonObject, pointer: string): JsonValue | undefined {
  const toks = tokens(pointer);
  return child(parentOf(holder, toks), toks[toks.length - 1]);
}

function add(holder: JsonObject, pointer: string, value: JsonValue, opName: string): void {
  const toks = tokens(pointer);
  const parent = parentOf(holder, toks);
  const last = toks[toks.length - 1];
  if (Array.isArray(parent)) {
    if (last === '-') {
      parent.push(value);
      return;
    }
    const i = arrayIndex(last, parent.length, true);
    if (i === undefined) throw patchUnprocessable(`${opName} operation does not apply: unable to access invalid index: ${last}: invalid index referenced`);
    parent.splice(i, 0, value);
    return;
  }
  if (isJsonObject(parent)) {
    parent[last] = value;
    return;
  }
  throw patchUnprocessable(`${opName} operation does not apply: doc is missing path: ${JSON.stringify(pointer)}: missing value`);
}

function remove(holder: JsonObject, pointer: string, opName: string): JsonValue {
  if (pointer === '') throw patchUnprocessable(`${opName} operation does not apply: cannot remove the whole document`);
  const toks = tokens(pointer);
  const parent = parentOf(holder, toks);
  const last = toks[toks.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i === undefined) throw patchUnprocessable(`${opName} operation does not apply: unable to access invalid index: ${last}: invalid index referenced`);
    return parent.splice(i, 1)[0];
  }
  if (isJsonObject(parent)) {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) throw patchUnprocessable(`Unable to remove nonexistent key: ${last}: missing value`);
    const v = parent[last];
    delete parent[last];
    return v;
  }
  throw patchUnprocessable(`${opName} operation does not apply: doc is missing path: ${JSON.stringify(pointer)}: missing value`);
}

function replace(holder: JsonObject, pointer: string, value: JsonValue): void {
  const toks = tokens(pointer);
  const parent = parentOf(holder, toks);
  const last = toks[toks.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length, false);
    if (i === undefined) throw patchUnprocessable(`replace operation does not apply: unable to access invalid index: ${last}: invalid index referenced`);
    parent[i] = value;
    return;
  }
  if (isJsonObject(parent)) {
    if (!Object.prototype.hasOwnProperty.call(parent, last)) throw patchUnprocessable(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    parent[last] = value;
    return;
  }
  throw patchUnprocessable(`replace operation does not apply: doc is missing path: ${pointer}: missing value`);
}
