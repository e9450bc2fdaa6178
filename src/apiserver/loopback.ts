import { createServer, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { memoryPipe } from '../client/memorypipe.js';
import { refusedError } from '../client/pipesocket.js';

// The API server's in-process door. The controllers, the scheduler and the node agent of `kite server` live in
// the API server's own process: their connections are in-memory pipes into a plain HTTP server that never
// listens and shares the HTTPS server's request handling (authentication, routing, handlers, watch streaming),
// so they pay no TLS, no kernel socket and no certificate parsing. They authenticate with the admin token, as
// they did over HTTPS. No upgrades here: exec, attach and port-forward come from outside clients only.

export class InProcessListener {
  private readonly server: Server;
  private readonly open = new Set<Duplex>();
  private closed = false;

  constructor(listener: RequestListener) {
    this.server = createServer(listener);
    // Watches stay open for minutes, and an in-memory connection has no idle timer to honour anyway.
    this.server.requestTimeout = 0;
  }

  /** A new connection, as a client's HTTP agent wants it (ClientConfig.connect). */
  readonly connect = (): Duplex => {
    const [serverEnd, clientEnd] = memoryPipe();
    if (this.closed) {
      // Refused once the client's request has its listeners on the connection, as a refused TCP connect is.
      setImmediate(() => clientEnd.destroy(refusedError()));
      return clientEnd;
    }
    this.accept(serverEnd);
    return clientEnd;
  };

  /** Serves the server's end of a connection opened elsewhere (a PortPipe from another thread's client). */
  readonly accept = (serverEnd: Duplex): void => {
    if (this.closed) {
      // The refusal is for the client's side to see; nothing here listens for errors on this end.
      serverEnd.once('error', () => undefined);
      serverEnd.destroy(refusedError());
      return;
    }
    this.open.add(serverEnd);
    serverEnd.once('close', () => this.open.delete(serverEnd));
    this.server.emit('connection', serverEnd);
  };

  /** Refuses new connections and resets the open ones: their requests and watches end at once. */
  close(): void {
    this.closed = true;
    for (const c of this.open) c.destroy();
    this.open.clear();
  }
}
