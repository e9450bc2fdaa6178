// metav1.Status bodies the streaming server writes: as HTTP error replies (the API server relays them to
// kubectl, which prints "Error from server (<reason>): <message>") and on exec/attach error channels.

export interface StreamStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  code?: number;
  details?: { causes?: Array<{ reason: string; message: string }> };
}

const REASONS: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 500: 'InternalError', 503: 'ServiceUnavailable' };

export function failure(code: number, message: string): StreamStatus {
  return { metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'InternalError', code };
}

export function success(): StreamStatus {
  return { metadata: {}, status: 'Success' };
}

/** What kubectl turns into "command terminated with exit code N" and its own exit status N. */
export function nonZeroExit(argv: string[], code: number): StreamStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** An HTTP error as a Status, in the shape the API server's own errors have. */
export function statusBody(code: number, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', ...failure(code, message) });
}

/** An error reply written straight onto a socket that asked for an upgrade. */
export function rawHttpError(code: number, message: string): string {
  const body = statusBody(code, message);
  const text = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' }[code] ?? 'Error';
  return `HTTP/1.1 ${code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
