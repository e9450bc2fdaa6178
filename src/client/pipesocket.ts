import { Duplex } from 'node:stream';

// What an in-process connection end (memorypipe.ts, portpipe.ts) must look like to node:http: a Duplex with a
// socket's tuning methods. Such an end has no kernel options and no idle timer: its connections live until a
// client pool or the server closes them.

export abstract class PipeSocket extends Duplex {
  readonly remoteAddress = undefined;
  readonly remotePort = undefined;

  setTimeout(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

/** What a write to, or a read from, a connection whose other end went away fails with, as after a TCP reset. */
export function resetError(): Error {
  return Object.assign(new Error('the in-process connection was closed'), { code: 'ECONNRESET' });
}

/** What a connection to an API server that no longer accepts in-process connections fails with. */
export function refusedError(): Error {
  return Object.assign(new Error('the API server is shut down'), { code: 'ECONNREFUSED' });
}
