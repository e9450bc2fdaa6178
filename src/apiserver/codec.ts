import { parse as parseYaml, parseDocument } from 'yaml';
import { badRequest, unsupportedMediaType, StatusError } from '../api/errors.js';
import { decodeProtobufObject } from '../api/protobuf.js';

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
    return { value, duplicates: text.length < 1 << 20 ? findDuplicateKeys(text) : [] };
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

/** Paths of duplicated keys in JSON text, found with a small scanner (JSON.parse keeps the last silently). */
function findDuplicateKeys(text: string): string[] {
  const dups: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const k = str();
        const p = path ? `${path}.${k}` : k;
        if (seen.has(k)) dups.push(p);
        seen.add(k);
        ws();
        i++; // ':'
        value(p);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        i++; // '}'
        return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        i++;
        return;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
    }
  };
  try {
    value('');
  } catch {
    return [];
  }
  return dups;
}
