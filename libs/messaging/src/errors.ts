import type { ErrorCode } from '@hsm-signer/contracts';

/** Small named errors (NATS.js style): callers branch on the class, people read the message. */

/** Nobody subscribes to the subject: the service is not running. Fails at once, never retried blindly. */
export class NoRespondersError extends Error {
  override readonly name = 'NoRespondersError';
  constructor(readonly subject: string, options?: ErrorOptions) {
    super(`no service is answering on ${subject} (is it running?)`, options);
  }
}

/** The service did not answer within the request timeout. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(readonly subject: string, readonly timeoutMs: number, options?: ErrorOptions) {
    super(`no answer on ${subject} within ${timeoutMs} ms`, options);
  }
}

/** The service answered with an error of its own (a stable {@link ErrorCode}). */
export class RemoteServiceError extends Error {
  override readonly name = 'RemoteServiceError';
  constructor(readonly subject: string, readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** The NATS connection is closed or draining. */
export class MessagingUnavailableError extends Error {
  override readonly name = 'MessagingUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
