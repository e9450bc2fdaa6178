import { PipeSocket, resetError } from './pipesocket.js';

// An in-memory connection: two Duplex ends where what one writes the other reads. kite server's own
// components reach its API server through such pairs, so their requests skip TLS and the kernel while
// keeping every HTTP semantic (framing, keep-alive, streaming, status codes) of a real connection.
//
// The ends behave like a socket where node:http looks: a write arrives in a later tick (never inside the
// writer's stack, so neither HTTP parser is re-entered), the writer waits while the reader's buffer is full,
// and destroying one end resets the other (its peer sees the connection close, as after a TCP reset).
// Nothing here holds the event loop: an idle pair never keeps the process alive.

export class PipeEnd extends PipeSocket {
  private peer?: PipeEnd;
  /** The peer's write that waits for this end's reader to drain its buffer. */
  private blockedWrite: ((error?: Error) => void) | undefined;
  /** The peer ended its side: nothing more may be pushed here. */
  private inputEnded = false;

  connectTo(peer: PipeEnd): void {
    this.peer = peer;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    process.nextTick(() => {
      const peer = this.peer;
      if (!peer || peer.destroyed || peer.inputEnded) return callback(resetError());
      if (peer.push(chunk)) callback();
      else peer.blockedWrite = callback;
    });
  }

  override _read(): void {
    const cb = this.blockedWrite;
    this.blockedWrite = undefined;
    cb?.();
  }

  override _final(callback: (error?: Error | null) => void): void {
    process.nextTick(() => {
      const peer = this.peer;
      if (peer && !peer.destroyed && !peer.inputEnded) {
        peer.inputEnded = true;
        peer.push(null);
      }
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const cb = this.blockedWrite;
    this.blockedWrite = undefined;
    cb?.(resetError());
    const peer = this.peer;
    if (peer && !peer.destroyed) process.nextTick(() => peer.destroy());
    callback(error);
  }
}

/** Two connected ends: give one to an HTTP server ('connection' event), the other to a client. */
export function memoryPipe(): [PipeEnd, PipeEnd] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.connectTo(b);
  b.connectTo(a);
  return [a, b];
}
