import * as packet from 'dns-packet';
import type { Answer, OptAnswer, Packet, Question } from 'dns-packet';
import type { Rcode } from './zone.js';

// DNS messages on the wire, through dns-packet: reading a query, building a response, fitting a response
// into a UDP payload limit (the TC bit), and patching a pre-encoded response for a new query.

const RCODES: Record<Rcode, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
const QR = 1 << 15;
const OPCODE_MASK = 0xf << 11;
const RD = 1 << 8;
const TC = 1 << 9;

/** The UDP payload size this server advertises and uses upstream: the DNS flag day 2020 figure. */
export const EDNS_PAYLOAD = 1232;
/** RFC 1035: without EDNS0 a UDP message carries at most 512 bytes. */
export const CLASSIC_UDP_LIMIT = 512;

export interface QueryHeader {
  id: number;
  /** The header's flags word as sent (opcode, RD, CD...). */
  flags: number;
  /** Bytes of the question section in the raw message (from offset 12), when it is uncompressed. */
  questionLength: number;
}

export interface Query extends QueryHeader {
  question: Question;
  /** Present when the query carried an OPT record. */
  edns?: { udpPayloadSize: number };
}

export type ParsedQuery = { ok: true; query: Query } | { ok: false; response?: Buffer };

/** Read a query. Malformed messages with a readable header get FORMERR, other opcodes NOTIMP; responses and runts are dropped. */
export function parseQuery(buf: Buffer): ParsedQuery {
  if (buf.length < 12) return { ok: false };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & QR) return { ok: false };
  const fail = (rcode: Rcode) => ({ ok: false as const, response: headerOnly(id, flags, rcode) });
  if ((flags & OPCODE_MASK) !== 0) return fail('NOTIMP');
  if (buf.readUInt16BE(4) !== 1) return fail('FORMERR');
  let decoded: packet.DecodedPacket;
  try {
    decoded = packet.decode(buf);
  } catch {
    return fail('FORMERR');
  }
  const question = decoded.questions?.[0];
  if (!question) return fail('FORMERR');
  const opt = decoded.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
  return {
    ok: true,
    query: {
      id,
      flags,
      question: { name: question.name, type: question.type, class: question.class ?? 'IN' },
      edns: opt ? { udpPayloadSize: opt.udpPayloadSize } : undefined,
      questionLength: rawQuestionLength(buf),
    },
  };
}

/** Length of the first question as sent, or 0 if it uses a compression pointer (it never should). */
function rawQuestionLength(buf: Buffer): number {
  let o = 12;
  while (o < buf.length) {
    const len = buf[o]!;
    if (len === 0) return o + 1 + 4 <= buf.length ? o + 1 + 4 - 12 : 0;
    if (len & 0xc0) return 0;
    o += len + 1;
  }
  return 0;
}

/**
 * The fast path's view of a query: just enough to find a pre-encoded answer without decoding the whole
 * message. Only the plain shape is accepted (one question, an optional OPT record, ASCII name); anything
 * else goes through parseQuery, so an odd query is slower, never answered differently.
 */
export interface RawQuestion extends QueryHeader {
  /** Lower-cased name, numeric type and class, and whether EDNS0 was used: the pre-encoded answer's key. */
  key: string;
  edns?: { udpPayloadSize: number };
}

export function readQuestion(buf: Buffer): RawQuestion | undefined {
  const len = buf.length;
  if (len < 17) return undefined;
  const flags = buf.readUInt16BE(2);
  if (flags & (QR | OPCODE_MASK)) return undefined;
  if (buf.readUInt16BE(4) !== 1 || buf.readUInt16BE(6) !== 0 || buf.readUInt16BE(8) !== 0) return undefined;
  const arcount = buf.readUInt16BE(10);
  if (arcount > 1) return undefined;
  let o = 12;
  for (;;) {
    if (o >= len) return undefined;
    const l = buf[o]!;
    if (l === 0) break;
    if (l > 63) return undefined;
    for (let i = o + 1; i <= o + l; i++) if (buf[i] === undefined || buf[i]! > 0x7e || buf[i] === 0x2e) return undefined;
    o += l + 1;
  }
  const nameEnd = o;
  o += 5;
  if (o > len) return undefined;
  const qtype = buf.readUInt16BE(nameEnd + 1);
  const qclass = buf.readUInt16BE(nameEnd + 3);
  let udpPayloadSize: number | undefined;
  if (arcount === 1) {
    // The OPT pseudo-record: root name, type 41, class = UDP payload size, version 0, then its options.
    if (o + 11 > len || buf[o] !== 0 || buf.readUInt16BE(o + 1) !== 41 || buf[o + 6] !== 0) return undefined;
    if (o + 11 + buf.readUInt16BE(o + 9) !== len) return undefined;
    udpPayloadSize = buf.readUInt16BE(o + 3);
  } else if (o !== len) return undefined;
  // The label bytes as they are (length octets included) make a unique key; only ASCII is folded.
  const name = buf.toString('latin1', 12, nameEnd).toLowerCase();
  return {
    key: `${name}|${qtype}|${qclass}|${udpPayloadSize === undefined ? 0 : 1}`,
    id: buf.readUInt16BE(0),
    flags,
    edns: udpPayloadSize === undefined ? undefined : { udpPayloadSize },
    questionLength: nameEnd + 5 - 12,
  };
}

/** The largest response a client can take over UDP. */
export function udpLimit(q: { edns?: { udpPayloadSize: number } }): number {
  return q.edns ? Math.max(CLASSIC_UDP_LIMIT, q.edns.udpPayloadSize) : CLASSIC_UDP_LIMIT;
}

function headerOnly(id: number, queryFlags: number, rcode: Rcode): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(QR | (queryFlags & (OPCODE_MASK | RD)) | RCODES[rcode], 2);
  return b;
}

export interface ResponseParts {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  authoritative: boolean;
}

/** A response packet for `q`, echoing its question and, when it used EDNS0, with our OPT record. */
export function responsePacket(q: Query, parts: ResponseParts): Packet {
  let flags = (q.flags & RD) | packet.RECURSION_AVAILABLE | RCODES[parts.rcode];
  if (parts.authoritative) flags |= packet.AUTHORITATIVE_ANSWER;
  const additionals: Answer[] = parts.additionals.filter((a) => a.type !== 'OPT');
  if (q.edns) additionals.push(optRecord());
  return { type: 'response', id: q.id, flags, questions: [q.question], answers: parts.answers, authorities: parts.authorities, additionals };
}

export function optRecord(): OptAnswer {
  return { name: '.', type: 'OPT', udpPayloadSize: EDNS_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

/**
 * Encode within `limit` bytes. Additional records go first (a resolver can look them up itself); if the
 * answers still do not fit, as many whole records as fit are kept and TC is set so the client retries
 * over TCP (RFC 2181 §9).
 */
export function encodeWithin(p: Packet, limit: number): Buffer {
  const full = packet.encode(p);
  if (full.length <= limit) return full;
  const opt = (p.additionals ?? []).filter((a) => a.type === 'OPT');
  const trimmed: Packet = { ...p, additionals: opt };
  if (packet.encodingLength(trimmed) <= limit) return packet.encode(trimmed);
  const answers = [...(p.answers ?? [])];
  const authorities = [...(p.authorities ?? [])];
  const t: Packet = { ...trimmed, flags: (p.flags ?? 0) | TC, answers, authorities };
  while (packet.encodingLength(t) > limit && (authorities.length || answers.length)) {
    if (authorities.length) authorities.pop();
    else answers.pop();
  }
  return packet.encode(t);
}

/**
 * Copy a pre-encoded response for a new query: its id, its RD bit, and its question bytes as sent (a
 * resolver using 0x20 case randomisation checks the echo), so the cached bytes serve every asker.
 */
export function patchCached(cached: Buffer, cachedQuestionLength: number, query: Buffer, q: QueryHeader): Buffer {
  const out = Buffer.allocUnsafe(cached.length);
  cached.copy(out);
  out.writeUInt16BE(q.id, 0);
  out[2] = (out[2]! & ~(RD >> 8)) | ((q.flags & RD) >> 8);
  if (q.questionLength === cachedQuestionLength && q.questionLength > 0) query.copy(out, 12, 12, 12 + q.questionLength);
  return out;
}

/** Length of the question section of an encoded response (its first question, uncompressed). */
export function encodedQuestionLength(q: Question): number {
  const n = q.name.replace(/^\.|\.$/g, '');
  return (n ? Buffer.byteLength(n) + 2 : 1) + 4;
}

export function rcodeOf(buf: Buffer): number {
  return buf.length >= 4 ? buf.readUInt16BE(2) & 0xf : RCODES.SERVFAIL;
}

export function isTruncated(buf: Buffer): boolean {
  return buf.length >= 4 && (buf.readUInt16BE(2) & TC) !== 0;
}

export function rcodeName(n: number): Rcode {
  return (Object.entries(RCODES).find(([, v]) => v === n)?.[0] as Rcode | undefined) ?? 'SERVFAIL';
}

export function servfail(q: Query): Buffer {
  return packet.encode(responsePacket(q, { rcode: 'SERVFAIL', answers: [], authorities: [], additionals: [], authoritative: false }));
}
