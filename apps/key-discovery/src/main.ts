import { keyDiscoveryConfig, runService } from '@hsm-signer/config';
import { startKeyDiscovery } from './app';

void runService({ schema: keyDiscoveryConfig, start: (config, logger) => startKeyDiscovery(config, logger) });
