// A minimal pax tar writer for the few entries kite synthesises itself (overlay whiteouts). Every entry gets a
// pax header, so names of any length and extended attributes need no special cases.

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'chardev';
  mode: number;
  uid?: number;
  gid?: number;
  mtime?: number; // seconds
  data?: Buffer;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, string>;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, type: string, size: number, e: Partial<TarEntry>): Buffer {
  const b = Buffer.alloc(512);
  b.write(name.slice(0, 99), 0, 'utf8');
  b.write(octal(e.mode ?? 0, 8), 100);
  b.write(octal(e.uid ?? 0, 8), 108);
  b.write(octal(e.gid ?? 0, 8), 116);
  b.write(octal(size, 12), 124);
  b.write(octal(Math.floor(e.mtime ?? 0), 12), 136);
  b.write(' '.repeat(8), 148);
  b.write(type, 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.write(octal(e.devmajor ?? 0, 8), 329);
  b.write(octal(e.devminor ?? 0, 8), 337);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return b;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function pad(data: Buffer): Buffer[] {
  const rest = data.length % 512;
  return rest ? [data, Buffer.alloc(512 - rest)] : [data];
}

export function writeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    let records = paxRecord('path', e.name);
    for (const [k, v] of Object.entries(e.xattrs ?? {})) records += paxRecord(`SCHILY.xattr.${k}`, v);
    const pax = Buffer.from(records, 'utf8');
    parts.push(header('PaxHeader', 'x', pax.length, {}), ...pad(pax));
    const data = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const flag = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '3';
    parts.push(header(e.name, flag, data.length, e));
    if (data.length) parts.push(...pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
