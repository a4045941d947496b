import { RestError, RestErrorCode } from '../errors';

/** 400 for anything wrong with a `POST /abis` upload; the message says what to send instead. */
export function invalidUpload(message: string, cause?: unknown): RestError {
  return new RestError(400, RestErrorCode.InvalidAbiUpload, message, cause === undefined ? undefined : { cause });
}

/** 413 when the upload (or what its archives unpack to) is over a limit. */
export function uploadTooLarge(message: string): RestError {
  return new RestError(413, RestErrorCode.BodyTooLarge, message);
}
