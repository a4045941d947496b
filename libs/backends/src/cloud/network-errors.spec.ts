import { isTransportError, mapLimit, redact, transportReason } from './network-errors';

describe('cloud connector error helpers', () => {
  it('recognises transport failures by code, nested cause, wrapped message and name', () => {
    expect(isTransportError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransportError(Object.assign(new Error('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } }))).toBe(true);
    expect(isTransportError(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:34361'))).toBe(true);
    expect(isTransportError(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe(true);
    expect(isTransportError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe(true);
    expect(isTransportError(Object.assign(new Error('Forbidden'), { statusCode: 403, code: 'Forbidden' }))).toBe(false);
    expect(isTransportError('ECONNREFUSED')).toBe(false);
  });

  it('names the failure briefly', () => {
    expect(transportReason(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('connection refused (ECONNREFUSED)');
    expect(transportReason(new Error('AWS SDK error wrapper for Error: read ECONNRESET'))).toBe('connection reset (ECONNRESET)');
    expect(transportReason(new Error('line one\nline two'))).toBe('line one line two');
  });

  it('masks every configured secret', () => {
    expect(redact('token hvs.abc123 refused; hvs.abc123 again', ['hvs.abc123', undefined, ''])).toBe('token *** refused; *** again');
    expect(redact('short a b', ['a'])).toBe('short a b');
  });

  it('maps with bounded concurrency, keeping order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n * 3));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
