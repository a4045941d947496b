// SoftHSM2 reads SOFTHSM2_CONF from the real process environment at C_Initialize, but jest gives each
// test file a sandboxed copy of process.env that native code never sees. So a jest config that runs
// in-process PKCS#11 tests calls this at load time (in jest's main process, before workers fork):
// every worker inherits one SoftHSM2 configuration, and each test file adds its own token to it
// (createSoftHsmToken({ conf: process.env.SOFTHSM2_CONF })), found by its unique label.
const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

function useSharedSoftHsmConf() {
  if (process.env.HSM_SIGNER_JEST_SOFTHSM_CONF) {
    process.env.SOFTHSM2_CONF = process.env.HSM_SIGNER_JEST_SOFTHSM_CONF;
    return process.env.SOFTHSM2_CONF;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hsm-signer-jest-softhsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  process.env.HSM_SIGNER_JEST_SOFTHSM_CONF = conf;
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return conf;
}

module.exports = { useSharedSoftHsmConf };
