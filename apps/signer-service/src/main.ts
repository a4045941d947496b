import { runService, signerServiceConfig } from '@hsm-signer/config';
import { threadPoolSizeFor } from './thread-pool';

// Before anything touches libuv's pool (it is sized once, on first use): every asynchronous C_Sign
// holds a pool thread while the HSM works, so the pool must be at least as large as the sessions
// that may sign at once (docs/pkcs11.md "Sessions and libuv's pool"). An operator's own
// UV_THREADPOOL_SIZE wins.
process.env['UV_THREADPOOL_SIZE'] ??= String(threadPoolSizeFor(process.env));

// Imported after the pool size is set.
const { startSignerService } = require('./app') as typeof import('./app');

// SIGTERM / SIGINT → close(): running requests finish and reply, NATS and HTTP close, PKCS#11
// sessions close and the library is finalised; then exit 0 (runService).
void runService({ schema: signerServiceConfig, start: (config, logger) => startSignerService(config, { logger }) });
