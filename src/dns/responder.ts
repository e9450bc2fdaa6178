import type { Answer, Packet, Question } from 'dns-packet';
import * as packet from 'dns-packet';
import type { ClusterIndex } from './clusterindex.js';
import type { Forwarder } from './forward.js';
import type { Transport } from './listeners.js';
import { encodeWithin, encodedQuestionLength, parseQuery, patchCached, rcodeName, readQuestion, responsePacket, servfail, udpLimit, type Query, type QueryHeader, type ResponseParts } from './message.js';
import { canonicalName } from './names.js';
import type { ClusterZone, ZoneAnswer } from './zone.js';

// One query in, one response out: cluster names from the zone (pre-encoded and reused until the index
// changes), everything else through the forwarder. Transport-blind except for the UDP size limit.

interface Encoded {
  buf: Buffer;
  questionLength: number;
  parts: ResponseParts;
}

/** Bound on pre-encoded answers; a flood of distinct (mostly NXDOMAIN) names just starts the map over. */
const MAX_ENCODED = 20_000;
const TCP_LIMIT = 65_535;

export class Responder {
  private readonly encoded = new Map<string, Encoded>();
  private encodedGeneration = -1;

  constructor(
    private readonly zone: ClusterZone,
    private readonly index: ClusterIndex,
    private readonly forwarder: Pick<Forwarder, 'forward' | 'lookup'>,
    /** Until the informers have synced, cluster names get SERVFAIL (retry) rather than a false NXDOMAIN. */
    private readonly synced: () => boolean,
  ) {}

  readonly handle = (buf: Buffer, transport: Transport): Buffer | undefined | Promise<Buffer | undefined> => {
    if (this.encodedGeneration !== this.index.generation || this.encoded.size >= MAX_ENCODED) {
      this.encoded.clear();
      this.encodedGeneration = this.index.generation;
    }
    // Fast path: a plain query whose answer was already encoded costs a key, a copy and a few patched bytes.
    const raw = readQuestion(buf);
    if (raw) {
      const hit = this.encoded.get(raw.key);
      if (hit) return this.serve(hit, buf, raw, transport === 'udp' ? udpLimit(raw) : TCP_LIMIT);
    }

    const parsed = parseQuery(buf);
    if (!parsed.ok) return parsed.response;
    const q = parsed.query;
    const limit = transport === 'udp' ? udpLimit(q) : TCP_LIMIT;
    const name = canonicalName(q.question.name);
    const type = q.question.type;
    const ans = q.question.class === 'IN' || q.question.class === undefined ? this.zone.answer(name, type) : undefined;
    if (!ans) return this.forward(buf, q, raw?.key, transport, limit);
    if (!this.synced()) return servfail(q);
    if (ans.chase) return this.chase(q, ans, limit);
    const question: Question = { name, type, class: 'IN' };
    const parts: ResponseParts = { ...ans, authoritative: true };
    const entry: Encoded = { buf: packet.encode(responsePacket({ ...q, question }, parts)), questionLength: encodedQuestionLength(question), parts };
    if (raw) this.encoded.set(raw.key, entry);
    return this.serve(entry, buf, q, limit);
  };

  private serve(e: Encoded, raw: Buffer, q: QueryHeader & { edns?: { udpPayloadSize: number } }, limit: number): Buffer {
    if (e.buf.length <= limit) return patchCached(e.buf, e.questionLength, raw, q);
    // Rare (a big answer to a small UDP client): rebuild for this query and cut to fit.
    const parsed = parseQuery(raw);
    if (!parsed.ok) return parsed.response ?? Buffer.alloc(0);
    return encodeWithin(responsePacket(parsed.query, e.parts), limit);
  }

  private async forward(raw: Buffer, q: Query, key: string | undefined, transport: Transport, limit: number): Promise<Buffer> {
    const res = await this.forwarder.forward(raw, { tcp: transport === 'tcp', cacheKey: key, question: q.question });
    if (!res) return servfail(q);
    if (res.length <= limit) return res;
    // Fetched whole over TCP, but more than this UDP client takes: it gets what fits and TC, then asks over TCP.
    try {
      return encodeWithin(packet.decode(res) as Packet, limit);
    } catch {
      return servfail(q);
    }
  }

  /** An ExternalName whose target is outside the cluster: CNAME, then the target's records from upstream. */
  private async chase(q: Query, ans: ZoneAnswer, limit: number): Promise<Buffer> {
    const up = await this.forwarder.lookup(ans.chase!, q.question.type);
    if (!up) return servfail(q);
    const notOpt = (a: Answer) => a.type !== 'OPT';
    return encodeWithin(
      responsePacket(q, {
        rcode: rcodeName((up.flags ?? 0) & 0xf),
        answers: [...ans.answers, ...(up.answers ?? []).filter(notOpt)],
        authorities: (up.authorities ?? []).filter(notOpt),
        additionals: [],
        authoritative: false,
      }),
      limit,
    );
  }
}
