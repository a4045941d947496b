import { BatchRoutes, ContractViolationError, ErrorCode, MAX_BATCH_ITEMS, parseBatchReply, parseBatchRequest, parseBatchResult, Subjects } from './index';

describe('batch envelopes', () => {
  it('batch routes have their own subjects and follow the single route per item', () => {
    expect(BatchRoutes.nonceAllocate.subject).toBe(Subjects.nonceAllocateBatch);
    expect(BatchRoutes.nonceAllocate.item.subject).toBe(Subjects.nonceAllocate);
    expect(new Set(Object.values(BatchRoutes).map((r) => r.subject)).size).toBe(3);
  });

  it('a request needs 1…MAX_BATCH_ITEMS items and leaves them unparsed', () => {
    expect(parseBatchRequest({ items: [{ any: 1 }] })).toEqual({ items: [{ any: 1 }] });
    expect(() => parseBatchRequest({ items: [] })).toThrow(ContractViolationError);
    expect(() => parseBatchRequest({})).toThrow(/items must be an array/);
    expect(() => parseBatchRequest({ items: new Array(MAX_BATCH_ITEMS + 1).fill({}) })).toThrow(/at most 256/);
  });

  it('a reply must carry exactly one result per item', () => {
    expect(() => parseBatchReply({ results: [{ ok: 1 }] }, 2)).toThrow(/2 results/);
    expect(parseBatchReply({ results: [{ ok: 1 }, { ok: 1 }] }, 2).results).toHaveLength(2);
  });

  it('parses each result with the single route, turning anything foreign into HSM99999 for that slot', () => {
    const route = BatchRoutes.nonceRecordOutcome;
    expect(parseBatchResult(route, { ok: { ok: 1 } }, 0)).toEqual({ ok: { ok: 1 } });
    expect(parseBatchResult(route, { err: { code: ErrorCode.NonceConflict, message: 'no' } }, 1)).toEqual({ err: { code: ErrorCode.NonceConflict, message: 'no' } });
    expect(parseBatchResult(route, { ok: { ok: 'yes' } }, 2)).toEqual({ err: { code: ErrorCode.Internal, message: expect.stringMatching(/malformed reply.*results\[2\]\.ok\.ok/) } });
    expect(parseBatchResult(route, 'x', 3)).toEqual({ err: { code: ErrorCode.Internal, message: expect.stringMatching(/results\[3\] is neither/) } });
  });
});
