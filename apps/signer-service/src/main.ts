import { runService, signerServiceConfig } from '@hsm-signer/config';
import { startSignerService } from './app';

// SIGTERM / SIGINT → close(): running requests finish and reply, NATS and HTTP close, PKCS#11
// sessions close and the library is finalised; then exit 0 (runService).
void runService({ schema: signerServiceConfig, start: (config, logger) => startSignerService(config, { logger }) });
