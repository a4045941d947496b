/**
 * CPU-profile switch for the services under bench/nonce-storm.ts --profile (preloaded with
 * NODE_OPTIONS=--require=<this file>; bench only, never in product images).
 *
 * `node --cpu-prof` writes its profile only on a clean exit and covers start-up too; rpc-gateway
 * re-raises SIGTERM after Nest's shutdown hooks (no clean exit, no profile). So instead the
 * in-process inspector profiles exactly one leg: the first SIGWINCH starts the V8 sampling profiler,
 * the next stops it and writes <BENCH_PROFILE_DIR>/<SERVICE_INSTANCE>-<n>.cpuprofile (n = 1, 2, …),
 * then <same>.done so the bench knows the file is complete.
 */
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.BENCH_PROFILE_DIR;
const name = process.env.SERVICE_INSTANCE || `pid-${process.pid}`;
const intervalUs = Number(process.env.BENCH_PROFILE_INTERVAL_US || 500);

if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  let busy = false;
  let seq = 0;
  process.on('SIGWINCH', () => {
    if (busy) return;
    busy = true;
    if (!running) {
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: intervalUs }, () =>
          session.post('Profiler.start', () => {
            running = true;
            busy = false;
          }),
        ),
      );
      return;
    }
    session.post('Profiler.stop', (error, result) => {
      running = false;
      busy = false;
      seq += 1;
      const file = join(dir, `${name}-${seq}.cpuprofile`);
      try {
        if (error) throw error;
        writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
        renameSync(`${file}.tmp`, file);
      } catch (e) {
        writeFileSync(`${file}.error`, String(e && e.stack ? e.stack : e));
      }
    });
  });
}
