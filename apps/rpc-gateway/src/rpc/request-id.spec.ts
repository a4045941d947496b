import { parseAllocateNonceRequest } from '@hsm-signer/contracts';
import { idempotencyKey } from './request-id';

describe('idempotencyKey', () => {
  it('passes a header through, and derives one key per batch entry', () => {
    expect(idempotencyKey(undefined)).toBeUndefined();
    expect(idempotencyKey('')).toBeUndefined();
    expect(idempotencyKey('order-1')).toBe('order-1');
    expect(idempotencyKey('order-1', 7)).toBe('order-1:7');
    expect(idempotencyKey('order-1', 'a')).not.toBe(idempotencyKey('order-1', 'b'));
  });

  it('hashes keys too long for the ledger, keeping them distinct and within the contract', () => {
    const long = 'x'.repeat(300);
    const a = idempotencyKey(long)!;
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(idempotencyKey(long + 'y')).not.toBe(a);
    expect(idempotencyKey(long)).toBe(a);
    expect(() => parseAllocateNonceRequest({ chainId: 1, address: '0x' + '11'.repeat(20), requestId: a })).not.toThrow();
  });
});
