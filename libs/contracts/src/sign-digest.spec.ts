import { ContractViolationError, Routes, Subjects } from './index';

describe('signer sign-digest route', () => {
  const request = { from: '0x' + 'CD'.repeat(20), key: { backendId: 'pkcs11', keyId: '01' }, digest: '0x' + 'AB'.repeat(32) };
  const reply = { r: '0x' + '11'.repeat(32), s: '0x' + '22'.repeat(32), yParity: 1, signature: '0x' + '11'.repeat(32) + '22'.repeat(32) + '1C' };

  it('is hsm.v1.signer.sign-digest and lower-cases what it accepts', () => {
    expect(Routes.signerSignDigest.subject).toBe(Subjects.signerSignDigest);
    expect(Subjects.signerSignDigest).toBe('hsm.v1.signer.sign-digest');
    expect(Routes.signerSignDigest.request(request)).toEqual({ from: '0x' + 'cd'.repeat(20), key: request.key, digest: '0x' + 'ab'.repeat(32) });
    expect(Routes.signerSignDigest.reply(reply).signature).toBe(reply.signature.toLowerCase());
  });

  it('refuses a digest that is not 32 bytes, and a signature that is not 65 bytes, naming the field', () => {
    expect(() => Routes.signerSignDigest.request({ ...request, digest: '0x1234' })).toThrow(new ContractViolationError('digest', 'a 0x-prefixed 32-byte hash'));
    expect(() => Routes.signerSignDigest.reply({ ...reply, signature: reply.signature.slice(0, -2) })).toThrow(
      new ContractViolationError('signature', 'a 0x-prefixed 65-byte signature'),
    );
    expect(() => Routes.signerSignDigest.reply({ ...reply, yParity: 27 })).toThrow(/yParity/);
  });
});
