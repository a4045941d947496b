import { threadPoolSizeFor } from './thread-pool';

describe('threadPoolSizeFor', () => {
  it('covers every PKCS#11 session plus two, never below libuv default 4', () => {
    expect(threadPoolSizeFor({})).toBe(6);
    expect(threadPoolSizeFor({ PKCS11_SESSIONS: '1' })).toBe(4);
    expect(threadPoolSizeFor({ PKCS11_SESSIONS: '8' })).toBe(10);
    expect(threadPoolSizeFor({ PKCS11_SESSIONS: '5000' })).toBe(1024);
  });
  it('falls back to libuv default for a value the config would refuse anyway', () => {
    expect(threadPoolSizeFor({ PKCS11_SESSIONS: 'many' })).toBe(4);
    expect(threadPoolSizeFor({ PKCS11_SESSIONS: '0' })).toBe(4);
  });
});
