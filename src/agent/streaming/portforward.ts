import type { Duplex } from 'node:stream';
import type { SpdySession, SpdyStream } from './spdy.js';

// Port-forward over SPDY (plain, or tunnelled in WebSocket messages): per forwarded connection the client
// opens an "error" and a "data" stream sharing a requestid and naming the pod port. The data stream's bytes
// go to and from a connection to that port inside the pod's network namespace; a failure is written as
// text on the error stream.

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const PORT_FORWARD_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';

const PAIR_WAIT_MS = 30_000;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

export function servePortForward(spdy: SpdySession, podName: string, connect: (port: number) => Promise<Duplex>, log: (m: string) => void): void {
  const pairs = new Map<string, Pair>();
  spdy.on('stream', (s) => {
    const type = s.headers['streamtype'];
    const id = s.headers['requestid'] ?? '';
    if (type !== 'error' && type !== 'data') {
      s.destroy();
      return;
    }
    let pair = pairs.get(id);
    if (!pair) {
      pair = {
        timer: setTimeout(() => {
          pairs.delete(id);
          log(`port-forward: request ${id} never opened both its streams`);
          pair?.error?.destroy();
          pair?.data?.destroy();
        }, PAIR_WAIT_MS),
      };
      pairs.set(id, pair);
    }
    if (pair[type]) {
      s.destroy();
      return;
    }
    pair[type] = s;
    if (pair.error && pair.data) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      forward(pair.error, pair.data, s.headers['port'] ?? '');
    }
  });
  spdy.once('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });

  function forward(errorStream: SpdyStream, data: SpdyStream, portHeader: string): void {
    const fail = (msg: string) => {
      log(`port-forward: ${msg}`);
      errorStream.end(msg);
      data.end();
    };
    const port = Number(portHeader);
    if (!/^\d+$/.test(portHeader) || port < 1 || port > 65535) return fail(`invalid port "${portHeader}": expected a number from 1 to 65535`);
    // The client never writes to the error stream; keep it flowing so its FIN is noticed.
    errorStream.resume();
    connect(port).then(
      (conn) => {
        conn.on('error', (e: Error) => {
          if (!errorStream.writableEnded) errorStream.end(`error forwarding port ${port} to pod ${podName}: ${e.message}`);
          data.end();
        });
        data.on('error', () => conn.destroy());
        data.pipe(conn);
        conn.pipe(data);
        conn.once('close', () => {
          if (!errorStream.writableEnded) errorStream.end();
          if (!data.writableEnded) data.end();
        });
        data.once('close', () => conn.destroy());
      },
      (e: unknown) => fail(`error forwarding port ${port} to pod ${podName}: ${(e as Error).message}`),
    );
  }
}
