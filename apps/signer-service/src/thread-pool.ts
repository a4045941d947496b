/** libuv's own default and upper bound (docs.libuv.org, "Thread pool work scheduling"). */
const LIBUV_DEFAULT = 4;
const LIBUV_MAX = 1024;

/**
 * The libuv pool size signer-service starts with when UV_THREADPOOL_SIZE is not set: the PKCS#11
 * sessions that may sign at once (PKCS11_SESSIONS, default 4) plus 2 for DNS and file reads, and
 * never below libuv's default. Sessions of backends in BACKENDS_CONFIG_FILE are not counted here:
 * set UV_THREADPOOL_SIZE yourself when they add up to more.
 */
export function threadPoolSizeFor(env: NodeJS.ProcessEnv): number {
  const sessions = Number(env['PKCS11_SESSIONS'] ?? 4);
  if (!Number.isSafeInteger(sessions) || sessions < 1) return LIBUV_DEFAULT;
  return Math.min(LIBUV_MAX, Math.max(LIBUV_DEFAULT, sessions + 2));
}
