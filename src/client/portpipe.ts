import type { MessagePort } from 'node:worker_threads';
import { PipeSocket, refusedError, resetError } from './pipesocket.js';

// An in-process connection between two threads: each end wraps one port of a MessageChannel, so a component
// in a worker thread (the control plane of `kite server`) reaches the API server on the main thread with every
// HTTP semantic of a real connection while the two threads parse, encode and collect garbage in parallel.
//
// Like memoryPipe's ends, a write arrives in a later turn of the reader's event loop (never inside the writer's
// stack), ending one side gives the other EOF, and destroying either end resets the other. Bytes cross as
// transferred copies. The writer waits once more than WINDOW bytes are unacknowledged, and the reader
// acknowledges only what its consumer has taken, so a watch's initial state of tens of MB waits in neither
// thread. An idle end never keeps its thread alive.

/** Bytes a writer may have in flight (sent, not yet taken by the reader's consumer). */
const WINDOW = 1 << 20;
/** The reader acknowledges in batches this large: well below WINDOW, so a writer waiting on it always resumes. */
const ACK_EVERY = WINDOW / 4;

/** One message on the port: bytes, an acknowledgement (a byte count), the end of input, or a refusal. */
type Frame = Uint8Array | number | 'end' | 'refused';

export class PortPipe extends PipeSocket {
  /** Sent and not yet acknowledged. */
  private unacked = 0;
  /** The write waiting for acknowledgements to bring `unacked` back within the window. */
  private blockedWrite: ((error?: Error) => void) | undefined;
  /** Received and not yet acknowledged. */
  private received = 0;
  /** The consumer's buffer is full: acknowledge nothing until it reads. */
  private paused = false;
  /** The peer ended its side: nothing more arrives. */
  private inputEnded = false;
  /** The peer's port is closed: nothing more can be sent. */
  private peerGone = false;

  constructor(private readonly port: MessagePort) {
    super();
    port.on('message', (frame: Frame) => this.onFrame(frame));
    port.once('close', () => this.onPeerGone());
    port.unref();
  }

  private onFrame(frame: Frame): void {
    if (typeof frame === 'number') {
      this.unacked -= frame;
      if (this.unacked <= WINDOW) this.release();
    } else if (frame === 'end') {
      this.inputEnded = true;
      this.push(null);
    } else if (frame === 'refused') {
      this.destroy(refusedError());
    } else if (!this.destroyed && !this.inputEnded) {
      this.received += frame.byteLength;
      if (this.push(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength))) this.acknowledge();
      else this.paused = true;
    }
  }

  private acknowledge(): void {
    if (this.received < ACK_EVERY || this.peerGone) return;
    this.port.postMessage(this.received);
    this.received = 0;
  }

  /** Ends the waiting write: with an error once the connection is gone. */
  private release(error?: Error): void {
    const cb = this.blockedWrite;
    this.blockedWrite = undefined;
    cb?.(error);
  }

  private onPeerGone(): void {
    this.peerGone = true;
    this.release(resetError());
    // A peer that ended its side first closed its port after a clean exchange; any other close is a reset.
    if (!this.inputEnded) this.destroy();
  }

  /** `bytes` is a copy made here, so its whole (never shared) buffer moves to the other thread. */
  private send(bytes: Uint8Array, callback: (error?: Error | null) => void): void {
    if (this.peerGone) return callback(resetError());
    // Counted before the transfer, which detaches the buffer (its length reads 0 afterwards).
    this.unacked += bytes.byteLength;
    this.port.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
    if (this.unacked <= WINDOW) callback();
    else this.blockedWrite = callback;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // A copy: the chunk may share its memory with others (Buffer's pool), which a transfer would take away.
    this.send(new Uint8Array(chunk), callback);
  }

  // node:http writes a message as several chunks (head, body, chunk framing): they cross as one.
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let size = 0;
    for (const c of chunks) size += c.chunk.byteLength;
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c.chunk, at);
      at += c.chunk.byteLength;
    }
    this.send(bytes, callback);
  }

  override _read(): void {
    if (!this.paused) return;
    this.paused = false;
    this.acknowledge();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.peerGone) this.port.postMessage('end');
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release(resetError());
    // A refusal (InProcessListener after close) reaches the other thread's client as ECONNREFUSED, as a refused
    // TCP connect would; any other destroy is a reset there.
    if (!this.peerGone && (error as NodeJS.ErrnoException | null)?.code === 'ECONNREFUSED') this.port.postMessage('refused');
    this.port.close();
    callback(error);
  }
}

