// The stack behind `npm start` (run by scripts/start.mjs through @swc-node/register, after ensure-env and
// the app builds). Settings come from the environment: see scripts/start.mjs's header.
import { runDevStack } from '@hsm-signer/testing';

void runDevStack();
