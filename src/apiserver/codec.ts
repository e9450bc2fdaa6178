import { parse as parseYaml, parseDocument } from 'yaml';
import { badRequest, unsupportedMediaType, StatusError } from '../api/errors.js';
import { decodeProtobufObject } from '../api/protobuf.js';
import { duplicateFields } from '../api/schema/fieldcheck.js';

// Request bodies in the three encodings kubectl sends: JSON, YAML and Kubernetes protobuf. A body with no
// Content-Type is JSON, as kube-apiserver assumes (kubectl scale --current-replicas sends none).

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;
export type PatchType = (typeof PATCH_TYPES)[number];

export const BODY_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase() || 'application/json';
}

export interface Decoded {
  value: unknown;
  /** Duplicate keys found (reported under fieldValidation Strict/Warn). */
  duplicates: string[];
}

/** Decode a create/update body into a JSON value. */
export function decodeBody(body: Buffer, contentType: string | undefined): Decoded {
  const mt = mediaType(contentType);
  switch (mt) {
    case 'application/json':
    case '*/*':
      return decodeJson(body);
    case 'application/yaml':
      return decodeYaml(body);
    case 'application/vnd.kubernetes.protobuf': {
      try {
        const d = decodeProtobufObject(body);
        const obj = d.object as Record<string, unknown>;
        obj.apiVersion = d.apiVersion;
        obj.kind = d.kind;
        return { value: obj, duplicates: [] };
      } catch (e) {
        throw badRequest(`the body of the request could not be decoded as protobuf: ${(e as Error).message}`);
      }
    }
    default:
      throw unsupportedMediaType(mt, BODY_TYPES);
  }
}

export function decodeJson(body: Buffer): Decoded {
  const text = body.toString('utf8');
  try {
    const value: unknown = JSON.parse(text);
    return { value, duplicates: text.length < 1 << 20 ? duplicateFields(text) : [] };
  } catch (e) {
    throw badRequest(`error decoding JSON: ${(e as Error).message}`);
  }
}

export function decodeYaml(body: Buffer): Decoded {
  try {
    const doc = parseDocument(body.toString('utf8'), { uniqueKeys: false });
    if (doc.errors.length) throw new Error(doc.errors[0]!.message);
    return { value: doc.toJSON() as unknown, duplicates: [] };
  } catch (e) {
    if (e instanceof StatusError) throw e;
    throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
  }
}

export function parseYamlText(text: string): unknown {
  return parseYaml(text);
}
