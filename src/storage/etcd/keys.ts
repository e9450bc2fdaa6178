// Byte-level key ranges, as etcd compares keys: unsigned bytes, no collation.

import type { IKeyValue } from 'etcd3';
import type { KeyValue } from '../interface.js';

/** The first key after every key that starts with `prefix`; a single zero byte means "to the end". */
export function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Maps store keys into the etcd key space under a fixed prefix, and back. */
export class KeySpace {
  private readonly prefix: Buffer;

  constructor(prefix: string) {
    this.prefix = Buffer.from(prefix, 'utf8');
  }

  key(key: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(key, 'utf8')]);
  }

  /** [start, end) covering every key under `prefix`. */
  range(prefix: string): { start: Buffer; end: Buffer } {
    const start = this.key(prefix);
    return { start, end: rangeEnd(start) };
  }

  strip(key: Buffer): string {
    return key.subarray(this.prefix.length).toString('utf8');
  }

  kv(kv: IKeyValue): KeyValue {
    return {
      key: this.strip(kv.key),
      value: kv.value.toString('utf8'),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
    };
  }
}
