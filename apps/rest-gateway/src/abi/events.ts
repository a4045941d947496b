import { AbiCoder, type EventFragment, type ParamType } from 'ethers';
import { RestError, RestErrorCode } from '../errors';
import { decodeParams } from './decode';
import { formatValue, type DecodedValues } from './format-value';
import { outputName } from './names';
import { functionSignature } from './signature';

export interface EventLog {
  readonly topics: readonly string[];
  readonly data: string;
}

/**
 * An indexed string, bytes, array or tuple is stored as the keccak hash of its value, so only the topic
 * itself can be returned (ethconnect FE events/logprocessor.go topicToValue: "we can only logically
 * return it as a hex string").
 */
function isHashedInTopic(param: ParamType): boolean {
  return param.type === 'string' || param.type === 'bytes' || param.baseType === 'tuple' || param.baseType === 'array';
}

function topicValue(param: ParamType, topic: string): DecodedValues[string] {
  if (isHashedInTopic(param)) return topic.toLowerCase();
  try {
    return formatValue(param, AbiCoder.defaultAbiCoder().decode([param], topic)[0]);
  } catch {
    // A topic that is not a clean encoding (e.g. an address with dirty high bytes): give the topic, as for hashed values.
    return topic.toLowerCase();
  }
}

/**
 * The `data` object of an event (ethconnect FE events/logprocessor.go processLogEntry, research/rest-gateway.md §3.2):
 * indexed parameters from the topics, the rest decoded from the log data, keyed by parameter name with
 * the same value formatting as call outputs. Data that does not decode adds ethconnect's `rlp`/`raw`/`error`
 * keys next to the indexed values instead of throwing.
 *
 * Differences from ethconnect, on purpose: an unnamed parameter is keyed `output`, `output1`, … by its
 * position among all the event's inputs (ethconnect keys an unnamed indexed one "" and numbers unnamed data
 * ones among the data ones only); an indexed bytesN (N < 32) is its N bytes (ethconnect returns the whole
 * 32-byte topic); and the log's first topic must be this event's (ethconnect trusts its subscription filter).
 * Too few topics, or another event's log, is a 500: the caller matched the log to the wrong event.
 */
export function formatEventData(fragment: EventFragment, log: EventLog): DecodedValues {
  const signature = functionSignature(fragment);
  let next = 0;
  if (!fragment.anonymous) {
    if (log.topics[0]?.toLowerCase() !== fragment.topicHash) {
      throw new RestError(500, RestErrorCode.Internal, `The log is not a '${signature}' event: its first topic is ${log.topics[0] ?? 'missing'}, the event's is ${fragment.topicHash}`);
    }
    next = 1;
  }
  const indexed: [string, DecodedValues[string]][] = [];
  const dataParams: ParamType[] = [];
  const dataNames: string[] = [];
  fragment.inputs.forEach((param, index) => {
    const name = outputName(param, index);
    if (!param.indexed) {
      dataParams.push(param);
      dataNames.push(name);
      return;
    }
    const topic = log.topics[next++];
    if (topic === undefined) {
      throw new RestError(500, RestErrorCode.Internal, `The log has ${log.topics.length} topics, too few for event '${signature}': indexed parameter '${name}' has none`);
    }
    indexed.push([name, topicValue(param, topic)]);
  });
  const data = dataParams.length > 0 ? decodeParams(dataParams, log.data, (_, i) => dataNames[i], `the data of event '${fragment.name}'`) : {};
  return { ...Object.fromEntries(indexed), ...data } as DecodedValues;
}
