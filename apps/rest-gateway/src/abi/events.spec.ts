import { AbiCoder, EventFragment, Interface, id } from 'ethers';
import { RestErrorCode } from '../errors';
import { formatEventData, resolveTarget } from './index';
import { thrownRestError, TOKEN_ABI } from './spec-helpers';

const iface = new Interface(TOKEN_ABI);
const transfer = resolveTarget(TOKEN_ABI, 'Transfer').fragment as EventFragment;
const A = '0x52908400098527886E0F7030069857D2E4169EE7';
const B = '0x8617E340B3D01FA5F11F306F4090FD50E238070D';

describe('formatEventData (research/rest-gateway.md §3.2, ethconnect events/logprocessor.go)', () => {
  it('decodes indexed parameters from topics and the rest from data, keyed by name', () => {
    const log = iface.encodeEventLog('Transfer', [A, B, 2n ** 70n]);
    expect(formatEventData(transfer, log)).toEqual({ from: A.toLowerCase(), to: B.toLowerCase(), value: (2n ** 70n).toString() });
  });

  it('gives indexed string, bytes, arrays and tuples as the topic hash; indexed static values decoded', () => {
    const abi = [
      {
        type: 'event',
        name: 'Mixed',
        inputs: [
          { name: 'label', type: 'string', indexed: true },
          { name: 'delta', type: 'int32', indexed: true },
          { name: 'ids', type: 'uint256[]', indexed: true },
          { name: 'note', type: 'string', indexed: false },
          { name: '', type: 'bytes', indexed: false },
        ],
      },
    ];
    const mixed = new Interface(abi);
    const event = mixed.getEvent('Mixed') as EventFragment;
    // ethers cannot encode an indexed array, so the log is built by hand: the array's topic is an opaque hash.
    const idsHash = `0x${'AB'.repeat(32)}`;
    const log = {
      topics: [event.topicHash, id('hello'), AbiCoder.defaultAbiCoder().encode(['int32'], [-7]), idsHash],
      data: AbiCoder.defaultAbiCoder().encode(['string', 'bytes'], ['n', '0xABCD']),
    };
    expect(formatEventData(event, log)).toEqual({ label: id('hello'), delta: '-7', ids: idsHash.toLowerCase(), note: 'n', output4: '0xabcd' });
  });

  it('decodes an anonymous event, whose first topic is a parameter', () => {
    const anon = new Interface([{ type: 'event', name: 'Anon', anonymous: true, inputs: [{ name: 'who', type: 'address', indexed: true }, { name: 'ok', type: 'bool', indexed: true }] }]);
    const log = anon.encodeEventLog('Anon', [A, true]);
    expect(log.topics).toHaveLength(2);
    expect(formatEventData(anon.getEvent('Anon') as EventFragment, log)).toEqual({ who: A.toLowerCase(), ok: true });
  });

  it('keeps the indexed values and adds rlp/raw/error when the data does not decode', () => {
    const { topics } = iface.encodeEventLog('Transfer', [A, B, 1n]);
    expect(formatEventData(transfer, { topics, data: '0x1234' })).toEqual({
      from: A.toLowerCase(),
      to: B.toLowerCase(),
      rlp: '1234',
      raw: '0x1234',
      error: "Failed to decode the data of event 'Transfer' as (uint256): data out-of-bounds",
    });
  });

  it('answers 500 for a log of another event or with too few topics', () => {
    const { topics, data } = iface.encodeEventLog('Transfer', [A, B, 1n]);
    expect(thrownRestError(() => formatEventData(transfer, { topics: [id('Other()'), ...topics.slice(1)], data }))).toMatchObject({
      status: 500,
      code: RestErrorCode.Internal,
      message: `The log is not a 'Transfer(address,address,uint256)' event: its first topic is ${id('Other()')}, the event's is ${transfer.topicHash}`,
    });
    expect(thrownRestError(() => formatEventData(transfer, { topics: topics.slice(0, 2), data }))).toMatchObject({
      status: 500,
      code: RestErrorCode.Internal,
      message: "The log has 2 topics, too few for event 'Transfer(address,address,uint256)': indexed parameter 'to' has none",
    });
  });
});
