import { Writable } from 'node:stream';
import { createLogger, PinoNestLogger, redactUrl } from './logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON with the app name and redacts secret fields', () => {
    const { lines, stream } = capture();
    const logger = createLogger('signer-service', 'info', stream);
    logger.info({ pin: '1234', backend: { password: 'hunter2', clientSecret: 's3cret' }, keyId: '01' }, 'connected');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ app: 'signer-service', msg: 'connected', pin: '[redacted]', keyId: '01' });
    expect(JSON.stringify(lines[0])).not.toMatch(/1234|hunter2|s3cret/);
  });

  it('respects the level', () => {
    const { lines, stream } = capture();
    const logger = createLogger('x', 'warn', stream);
    logger.info('hidden');
    logger.warn('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });

  it('carries NestJS framework messages into the same stream', () => {
    const { lines, stream } = capture();
    const nest = new PinoNestLogger(createLogger('x', 'info', stream));
    nest.log('Nest application successfully started', 'NestApplication');
    nest.error('boom', 'trace-text', 'ExceptionHandler');
    expect(lines[0]).toMatchObject({ msg: 'Nest application successfully started', context: 'NestApplication', level: 30 });
    expect(lines[1]).toMatchObject({ msg: 'boom', context: 'ExceptionHandler', level: 50 });
  });
});

describe('redactUrl', () => {
  it('removes credentials from URLs', () => {
    expect(redactUrl('postgres://hsm:topsecret@db:5432/hsm')).toBe('postgres://***:***@db:5432/hsm');
    expect(redactUrl('http://127.0.0.1:8545/')).toBe('http://127.0.0.1:8545/');
    expect(redactUrl('not a url')).toBe('not a url');
  });
});
