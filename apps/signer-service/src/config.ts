import type { ConfigOf, signerServiceConfig } from '@hsm-signer/config';

export type SignerServiceConfig = ConfigOf<(typeof signerServiceConfig)['settings']>;
