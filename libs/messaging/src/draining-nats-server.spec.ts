import pino from 'pino';
import { DrainingNatsServer } from './draining-nats-server';

// The route lookup Nest runs on every incoming message (no connection needed: pure mapping).
describe('DrainingNatsServer.getRouteFromPattern', () => {
  const server = new DrainingNatsServer({ servers: ['nats://127.0.0.1:1'] }, { timeoutMs: 100, logger: pino({ level: 'silent' }) });

  afterEach(() => jest.restoreAllMocks());

  it('maps a plain subject to itself without trying to parse it as JSON', () => {
    const parse = jest.spyOn(JSON, 'parse');
    expect(server.getRouteFromPattern('hsm.v1.nonce.allocate-batch')).toBe('hsm.v1.nonce.allocate-batch');
    expect(parse).not.toHaveBeenCalled();
  });

  it('still maps a JSON (object) pattern the way Nest does', () => {
    const pattern = JSON.stringify({ role: 'nonce', cmd: 'allocate' });
    // Nest's own mapping, from a stock server of the same class chain.
    const nest = Object.getPrototypeOf(DrainingNatsServer.prototype) as { getRouteFromPattern(p: string): string };
    const expected = nest.getRouteFromPattern.call(server, pattern);
    expect(server.getRouteFromPattern(pattern)).toBe(expected);
    expect(expected).toContain('"cmd":"allocate"');
  });
});
