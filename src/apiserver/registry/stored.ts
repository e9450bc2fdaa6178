import type { KubeObject } from '../../api/object.js';
import type { KeyValue } from '../../storage/interface.js';

// The stored form of an object: its JSON text without metadata.resourceVersion, which is the store's
// revision of the key instead. Encoding and decoding live together because the watch path relies on the
// encoder's layout: it builds the JSON an event carries by splicing the resourceVersion into the stored
// text, so an object most watchers only forward is never parsed and re-serialised.

/** The stored text: apiVersion, kind and metadata lead, so metadata's position is found after two short strings. */
export function encodeStored(obj: KubeObject): string {
  const { apiVersion, kind, metadata, ...rest } = obj;
  const meta = { ...metadata };
  delete meta.resourceVersion;
  return JSON.stringify({ apiVersion, kind, metadata: meta, ...rest });
}

export function decodeStored(text: string, revision: number): KubeObject {
  const obj = JSON.parse(text) as KubeObject;
  obj.metadata.resourceVersion = String(revision);
  return obj;
}

export function decodeKv(kv: KeyValue): KubeObject {
  return decodeStored(kv.value, kv.modRevision);
}

const RESOURCE_VERSION_KEY = '"resourceVersion":';

/**
 * JSON text of the object stored as `text` with metadata.resourceVersion `revision`: parses to what
 * decodeKv gives, the resourceVersion leading metadata rather than ending it. Stored text is JSON.stringify
 * output (no whitespace, no duplicate keys), so the top-level "metadata" key found after string-valued keys
 * is the object's metadata. Anything else (metadata behind a non-string value, a resourceVersion key
 * anywhere in the text) takes the slow road through a decode.
 */
export function storedJson(text: string, revision: number): string {
  const at = metadataBody(text);
  if (at < 0 || text.includes(RESOURCE_VERSION_KEY)) return JSON.stringify(decodeStored(text, revision));
  const rv = `${RESOURCE_VERSION_KEY}"${revision}"`;
  return text.slice(0, at) + (text.charCodeAt(at) === CLOSE_BRACE ? rv : rv + ',') + text.slice(at);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Index just inside the top-level metadata object (after `"metadata":{`), or -1 when it is not reached
 *  through string-valued keys only. */
export function metadataBody(text: string): number {
  if (text.charCodeAt(0) !== OPEN_BRACE) return -1;
  let i = 1;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return -1;
    const keyEnd = stringEnd(text, i);
    if (keyEnd < 0 || text.charCodeAt(keyEnd + 1) !== COLON) return -1;
    const value = keyEnd + 2;
    if (keyEnd - i === 9 && text.startsWith('metadata', i + 1)) return text.charCodeAt(value) === OPEN_BRACE ? value + 1 : -1;
    if (text.charCodeAt(value) !== QUOTE) return -1;
    const valueEnd = stringEnd(text, value);
    if (valueEnd < 0 || text.charCodeAt(valueEnd + 1) !== COMMA) return -1;
    i = valueEnd + 2;
  }
}

/** Index of the quote closing the string that opens at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  let q = start;
  for (;;) {
    q = text.indexOf('"', q + 1);
    if (q < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
}
