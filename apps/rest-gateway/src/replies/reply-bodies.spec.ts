import { errorReply, isFailureReply, pendingReply, receiptReply, withDeployLinks, type NodeReceipt } from './reply-bodies';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RECEIVED = Date.parse('2026-12-01T10:00:00.000Z');

const receipt = (over: Partial<NodeReceipt> = {}): NodeReceipt => ({
  transactionHash: '0xAA' + 'a'.repeat(62),
  transactionIndex: '0xa',
  blockHash: '0xBB' + 'b'.repeat(62),
  blockNumber: '0x1b4',
  from: '0xF00D' + '0'.repeat(36),
  to: '0xC0FFEE' + '0'.repeat(34),
  cumulativeGasUsed: '0x1e8480',
  gasUsed: '0x5208',
  effectiveGasPrice: '0x3b9aca00',
  contractAddress: null,
  status: '0x1',
  ...over,
});

describe('receiptReply', () => {
  it('answers a mined transaction as ethconnect: decimal strings, lowercase hex, status "1", TransactionSuccess', () => {
    const body = receiptReply(receipt(), 7, { requestId: 'req-1', receivedAt: RECEIVED, abiId: 'abi-9' }, RECEIVED + 1_500);
    expect(body).toEqual({
      headers: {
        id: expect.stringMatching(UUID),
        type: 'TransactionSuccess',
        requestId: 'req-1',
        requestOffset: '',
        timeReceived: '2026-12-01T10:00:00.000Z',
        timeElapsed: 1.5,
        requestABIId: 'abi-9',
      },
      blockHash: '0xbb' + 'b'.repeat(62),
      blockNumber: '436',
      cumulativeGasUsed: '2000000',
      effectiveGasPrice: '1000000000',
      from: '0xf00d' + '0'.repeat(36),
      gasUsed: '21000',
      nonce: '7',
      status: '1',
      to: '0xc0ffee' + '0'.repeat(34),
      transactionHash: '0xaa' + 'a'.repeat(62),
      transactionIndex: '10',
    });
  });

  it('status 0 is a TransactionFailure with status "0"', () => {
    const body = receiptReply(receipt({ status: '0x0' }), 1, { requestId: 'r', receivedAt: RECEIVED }, RECEIVED);
    expect(body['status']).toBe('0');
    expect((body['headers'] as { type: string }).type).toBe('TransactionFailure');
    expect(isFailureReply(body)).toBe(true);
  });

  it('any status > 0 is a success; no status (pre-Byzantium) too', () => {
    expect(receiptReply(receipt({ status: '0x2' }), 1, { requestId: 'r', receivedAt: RECEIVED })['status']).toBe('1');
    const noStatus = receiptReply(receipt({ status: undefined }), 1, { requestId: 'r', receivedAt: RECEIVED });
    expect(noStatus['status']).toBe('1');
    expect(isFailureReply(noStatus)).toBe(false);
  });

  it('a deploy: contractAddress lowercase, to null', () => {
    const body = receiptReply(receipt({ to: null, contractAddress: '0xDEADBEEF' + '0'.repeat(32) }), 0n, { requestId: 'r', receivedAt: RECEIVED });
    expect(body['to']).toBeNull();
    expect(body['contractAddress']).toBe('0xdeadbeef' + '0'.repeat(32));
    expect(body['nonce']).toBe('0');
  });

  it('leaves out contractAddress, effectiveGasPrice and requestABIId when there are none', () => {
    const body = receiptReply(receipt({ effectiveGasPrice: undefined }), 2, { requestId: 'r', receivedAt: RECEIVED });
    expect(body).not.toHaveProperty('contractAddress');
    expect(body).not.toHaveProperty('effectiveGasPrice');
    expect(body['headers']).not.toHaveProperty('requestABIId');
  });

  it('keeps big numbers exact (a bigint nonce, a 256-bit gas figure)', () => {
    const body = receiptReply(receipt({ cumulativeGasUsed: '0x' + 'f'.repeat(64) }), 2n ** 63n, { requestId: 'r', receivedAt: RECEIVED });
    expect(body['cumulativeGasUsed']).toBe((2n ** 256n - 1n).toString());
    expect(body['nonce']).toBe('9223372036854775808');
  });

  it('timeElapsed never goes negative (clock skew between replicas)', () => {
    const body = receiptReply(receipt(), 1, { requestId: 'r', receivedAt: RECEIVED }, RECEIVED - 5_000);
    expect((body['headers'] as { timeElapsed: number }).timeElapsed).toBe(0);
  });

  it('gives each reply its own header id', () => {
    const ctx = { requestId: 'r', receivedAt: RECEIVED };
    expect((receiptReply(receipt(), 1, ctx)['headers'] as { id: string }).id).not.toBe((receiptReply(receipt(), 1, ctx)['headers'] as { id: string }).id);
  });
});

describe('errorReply', () => {
  it('carries the message, code, the request payload and the transaction hash', () => {
    const body = errorReply(
      { message: 'insufficient funds', code: 'HSM40002' },
      { requestId: 'req-2', receivedAt: RECEIVED, requestPayload: '{"x":1}', abiId: 'abi-1' },
      { transactionHash: '0x' + '1'.repeat(64) },
      RECEIVED + 250,
    );
    expect(body).toEqual({
      headers: { id: expect.stringMatching(UUID), type: 'Error', requestId: 'req-2', requestOffset: '', timeReceived: '2026-12-01T10:00:00.000Z', timeElapsed: 0.25, requestABIId: 'abi-1' },
      errorMessage: 'insufficient funds',
      errorCode: 'HSM40002',
      requestPayload: '{"x":1}',
      transactionHash: '0x' + '1'.repeat(64),
    });
    expect(isFailureReply(body)).toBe(false);
  });

  it('has no transactionHash when nothing was sent', () => {
    expect(errorReply({ message: 'm', code: 'c' }, { requestId: 'r', receivedAt: RECEIVED, requestPayload: '' })).not.toHaveProperty('transactionHash');
  });
});

describe('pendingReply', () => {
  it('is a TransactionPending with pending: true and the request payload', () => {
    const body = pendingReply({ requestId: 'req-3', receivedAt: RECEIVED, requestPayload: '{"a":"b"}' }, {}, RECEIVED + 2_000);
    expect(body).toEqual({
      headers: { id: expect.stringMatching(UUID), type: 'TransactionPending', requestId: 'req-3', requestOffset: '', timeReceived: '2026-12-01T10:00:00.000Z', timeElapsed: 2 },
      pending: true,
      requestPayload: '{"a":"b"}',
    });
  });

  it('adds the transaction hash and the nonce (a decimal string, also 0) once sent', () => {
    const body = pendingReply({ requestId: 'r', receivedAt: RECEIVED, requestPayload: '' }, { transactionHash: '0xabc', nonce: 0 });
    expect(body['transactionHash']).toBe('0xabc');
    expect(body['nonce']).toBe('0');
    expect(pendingReply({ requestId: 'r', receivedAt: RECEIVED, requestPayload: '' }, { nonce: 42 })['nonce']).toBe('42');
  });
});

describe('withDeployLinks', () => {
  const deployed = { status: '1', contractAddress: '0x' + 'ab'.repeat(20) };

  it('links the contract by its address without 0x when not registered under a name', () => {
    expect(withDeployLinks(deployed, 'https://gw.example.com/api', undefined)).toEqual({
      ...deployed,
      openapi: `https://gw.example.com/api/contracts/${'ab'.repeat(20)}?openapi`,
      apiexerciser: `https://gw.example.com/api/contracts/${'ab'.repeat(20)}?ui`,
    });
  });

  it('links by the friendly name (URL-encoded) and says registerAs', () => {
    expect(withDeployLinks(deployed, 'http://h:8080', 'my token/1')).toEqual({
      ...deployed,
      openapi: 'http://h:8080/contracts/my%20token%2F1?openapi',
      apiexerciser: 'http://h:8080/contracts/my%20token%2F1?ui',
      registerAs: 'my token/1',
    });
  });

  it('leaves a body without a contract address as it is', () => {
    const body = { status: '1', to: '0x1' };
    expect(withDeployLinks(body, 'http://h', 'name')).toBe(body);
  });

  it('does not change the body it was given', () => {
    const body = { ...deployed };
    withDeployLinks(body, 'http://h', 'n');
    expect(body).toEqual(deployed);
  });
});
