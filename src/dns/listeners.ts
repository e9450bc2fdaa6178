import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';

// The DNS transports on one address: UDP datagrams and TCP streams of 2-byte length-prefixed messages
// (RFC 1035 §4.2.2; pipelined queries on one connection are answered as each is ready, RFC 7766).

export type Transport = 'udp' | 'tcp';
/** Answers a raw query; a synchronous answer (the common, cached case) skips a promise per query. */
export type DnsHandler = (query: Buffer, transport: Transport) => Buffer | undefined | Promise<Buffer | undefined>;

/** An idle TCP client is dropped after this long, so a stuck client cannot hold a connection forever. */
const TCP_IDLE_MS = 10_000;
const MAX_TCP_BUFFER = 2 * 65_537;

export interface Listener {
  close(): Promise<void>;
}

export async function listenDns(addr: { address: string; port: number }, handler: DnsHandler, log: (m: string) => void): Promise<Listener> {
  const udp = await listenUdp(addr, handler, log);
  let tcp: { server: Server; conns: Set<Socket> };
  try {
    tcp = await listenTcp(addr, handler, log);
  } catch (e) {
    udp.close();
    throw e;
  }
  return {
    async close() {
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => {
          tcp.server.close(() => r());
          for (const c of tcp.conns) c.destroy();
        }),
      ]);
    },
  };
}

function listenUdp(addr: { address: string; port: number }, handler: DnsHandler, log: (m: string) => void): Promise<UdpSocket> {
  const sock = createSocket({ type: isIPv6(addr.address) ? 'udp6' : 'udp4' });
  const reply = (res: Buffer | undefined, port: number, address: string) => {
    if (res) sock.send(res, port, address);
  };
  sock.on('message', (msg, rinfo) => {
    let res: ReturnType<DnsHandler>;
    try {
      res = handler(msg, 'udp');
    } catch (e) {
      log(`dns: query from ${rinfo.address}: ${(e as Error).message}`);
      return;
    }
    if (res instanceof Promise) res.then((r) => reply(r, rinfo.port, rinfo.address), (e: Error) => log(`dns: query from ${rinfo.address}: ${e.message}`));
    else reply(res, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', (e) => reject(new Error(`cluster DNS cannot listen on udp ${addr.address}:${addr.port}: ${e.message} (is another DNS server using the port?)`)));
    sock.bind(addr.port, addr.address, () => {
      sock.removeAllListeners('error');
      sock.on('error', (e) => log(`dns udp ${addr.address}:${addr.port}: ${e.message}`));
      // A burst of queries must queue in the kernel rather than be dropped while the loop is busy.
      try {
        sock.setRecvBufferSize(4 << 20);
        sock.setSendBufferSize(4 << 20);
      } catch {
        // The kernel caps it at net.core.rmem_max; the default still works, just with less headroom.
      }
      resolve(sock);
    });
  });
}

function listenTcp(addr: { address: string; port: number }, handler: DnsHandler, log: (m: string) => void): Promise<{ server: Server; conns: Set<Socket> }> {
  const conns = new Set<Socket>();
  const server = createServer((sock) => {
    conns.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    const send = (res: Buffer | undefined) => {
      if (!res || sock.destroyed) return;
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(res.length);
      sock.write(Buffer.concat([len, res]));
    };
    sock.on('data', (d: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (buf.length > MAX_TCP_BUFFER) return sock.destroy();
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        let res: ReturnType<DnsHandler>;
        try {
          res = handler(msg, 'tcp');
        } catch (e) {
          log(`dns: tcp query: ${(e as Error).message}`);
          continue;
        }
        if (res instanceof Promise) res.then(send, (e: Error) => log(`dns: tcp query: ${e.message}`));
        else send(res);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cluster DNS cannot listen on tcp ${addr.address}:${addr.port}: ${e.message} (is another DNS server using the port?)`)));
    server.listen(addr.port, addr.address, () => {
      server.removeAllListeners('error');
      server.on('error', (e) => log(`dns tcp ${addr.address}:${addr.port}: ${e.message}`));
      resolve({ server, conns });
    });
  });
}
