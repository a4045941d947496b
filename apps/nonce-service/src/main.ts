import { nonceServiceConfig, runService } from '@hsm-signer/config';
import { startNonceService } from './app';

void runService({ schema: nonceServiceConfig, start: (config, logger) => startNonceService(config, logger) });
