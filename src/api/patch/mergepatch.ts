import type { JsonObject } from '../object.js';
import { patchBadRequest } from './errors.js';
import { cloneJson, isJsonObject } from './json.js';

// RFC 7386 JSON merge patch: what kubectl sends for label, annotate and scale. Objects merge recursively, null
// deletes, anything else (arrays included) replaces.

export function applyMergePatch(doc: JsonObject, patch: unknown): JsonObject {
  if (!isJsonObject(patch)) throw patchBadRequest('Invalid JSON Patch');
  return mergeInto(cloneJson(doc), patch);
}

/**
 * applyMergePatch for a caller that owns both: `doc` is changed in place and takes parts of `patch` into it,
 * sparing a copy of the whole object (the registry hands every patch a private copy of the live object).
 */
export function applyMergePatchInPlace(doc: JsonObject, patch: unknown): JsonObject {
  if (!isJsonObject(patch)) throw patchBadRequest('Invalid JSON Patch');
  return mergeOwned(doc, patch);
}

function mergeOwned(target: JsonObject, patch: JsonObject): JsonObject {
  for (const k in patch) {
    const v = patch[k];
    if (v === null) {
      delete target[k];
    } else if (isJsonObject(v)) {
      const cur = target[k];
      target[k] = mergeOwned(isJsonObject(cur) ? cur : {}, v);
    } else {
      target[k] = v;
    }
  }
  return target;
}

function mergeInto(target: JsonObject, patch: JsonObject): JsonObject {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete target[k];
    } else if (isJsonObject(v)) {
      const cur = target[k];
      target[k] = mergeInto(isJsonObject(cur) ? cur : {}, v);
    } else {
      target[k] = cloneJson(v);
    }
  }
  return target;
}

