import type { FastifyReply, FastifyRequest } from 'fastify';
import { scanUploads, UploadError } from '../../upload/index.js';
import { audit } from '../audit.js';
import type { Caller } from '../callers.js';
import { type RouteContext, requestSignal } from '../route-context.js';
import { type FileVerdict, fileVerdict } from '../verdict.js';

export interface ScanRequest {
  readonly tenant: string;
  readonly caller: Caller;
  /** Which endpoint, for the audit line and the scan context's `source`. */
  readonly endpoint: 'gateway' | 'clamav-rest';
  /** Only this multipart field counts; default any. */
  readonly field?: string;
}

/**
 * Scans the request's files for an authorized caller and audits the outcome: every file's
 * decision, or the error that ended the request.
 */
export async function scanFiles(
  request: FastifyRequest,
  reply: FastifyReply,
  context: RouteContext,
  scan: ScanRequest,
): Promise<FileVerdict[]> {
  const { manager, limits, logger, shutdown, inFlight } = context;
  const { tenant, caller, endpoint, field } = scan;
  try {
    const files = await inFlight.track(
      scanUploads(request, {
        manager,
        limits,
        context: {
          tenantId: tenant,
          userId: caller.subject,
          requestId: request.id,
          source: endpoint,
        },
        ...(field === undefined ? {} : { field }),
        signal: requestSignal(request, reply, shutdown),
      }),
    );
    const verdicts = files.map((file) => fileVerdict(file.filename, file.size, file.scan));
    audit(logger, {
      action: 'scan',
      outcome: 'ok',
      subject: caller.subject,
      tenant,
      requestId: request.id,
      detail: {
        endpoint,
        files: verdicts.map(({ filename, sha256, decision, quarantineId }) => ({
          filename,
          sha256,
          decision,
          ...(quarantineId === undefined ? {} : { quarantineId }),
        })),
      },
    });
    return verdicts;
  } catch (error) {
    const client = error instanceof UploadError && error.statusCode < 500;
    audit(logger, {
      action: 'scan',
      outcome: client ? 'bad_request' : 'failed',
      subject: caller.subject,
      tenant,
      requestId: request.id,
      detail: { endpoint, code: error instanceof UploadError ? error.code : 'BREAKWATER_INTERNAL' },
    });
    throw error;
  }
}
