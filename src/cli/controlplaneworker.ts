import { MessageChannel, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { PortPipe } from '../client/portpipe.js';
import { startControlPlane } from './controlplane.js';
import type { ControlPlaneWorkerData, FromControlPlaneWorker, ToControlPlaneWorker } from './controlplanethread.js';

// The worker thread's side of controlplanethread.ts: runs the control plane, opening each API connection as a
// MessageChannel whose other port goes to the main thread's API server.

const port = parentPort;
if (!port) throw new Error('controlplaneworker.js runs only as a worker thread (startControlPlaneThread)');
const post = (m: FromControlPlaneWorker, transfer: MessagePort[] = []) => port.postMessage(m, transfer);
const data = workerData as ControlPlaneWorkerData;
const controlPlane = startControlPlane({
  ...data,
  config: {
    ...data.config,
    connect() {
      const channel = new MessageChannel();
      post({ type: 'connect', port: channel.port2 }, [channel.port2]);
      return new PortPipe(channel.port1);
    },
  },
  log: (msg) => post({ type: 'log', msg }),
});
port.on('message', (m: ToControlPlaneWorker) => {
  if (m.type !== 'stop') return;
  controlPlane.stop().then(
    () => post({ type: 'stopped' }),
    (e: unknown) => {
      post({ type: 'log', msg: `the control plane did not stop cleanly: ${(e as Error)?.message ?? String(e)}` });
      post({ type: 'stopped' });
    },
  );
});
