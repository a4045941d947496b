import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConstructorFragment, FunctionFragment, toQuantity } from 'ethers';
import { collectArgs, encodeDeployData, encodeFunctionData, formatOutputs, inputName } from '../abi';
import { RestError, RestErrorCode, toRestError } from '../errors';
import { readBody } from '../http/body';
import type { HttpAnswer, RestTransactionRequest, TransactionDispatcher } from '../dispatch/transaction-dispatcher';
import { baseUrlOf } from './respond';
import { parseBlockTag, parseFrom } from './tx-params';

export interface WebhookPorts {
  dispatcher: Pick<TransactionDispatcher, 'async'>;
  /** Stores a message's ABI so the deployed contract can be registered under `registerAs`; returns its id. */
  storeAbi(abi: unknown[], bytecode: string, name: string | undefined): Promise<string>;
  nodeCall<T>(method: string, params: unknown[]): Promise<T>;
}

const invalid = (message: string) => new RestError(400, RestErrorCode.InvalidMessage, message);

/** gas / gasPrice / value / nonce of a message: a JSON number or a base-10 (or 0x) string. */
function quantityField(message: Record<string, unknown>, name: string): string | undefined {
  const v = message[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return toQuantity(v);
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return toQuantity(BigInt(v));
  if (typeof v === 'string' && /^0x[0-9a-fA-F]+$/.test(v)) return toQuantity(BigInt(v));
  throw invalid(`'${name}' must be a non-negative integer (a JSON number or a base-10 string)`);
}

/**
 * The function a message calls: `method` (an ABI element; `params` plain values in order) or
 * `methodName` with typed params `[{type, value}]` that define the ABI (FE internal/eth/txn.go:721-766).
 */
function functionOf(message: Record<string, unknown>): { fragment: FunctionFragment; values: unknown[] } {
  const params = message['params'] ?? [];
  if (!Array.isArray(params)) throw invalid("'params' must be an array");
  if (message['method'] !== undefined) {
    let fragment: FunctionFragment;
    try {
      fragment = FunctionFragment.from(message['method'] as object);
    } catch (error) {
      throw invalid(`'method' is not an ABI function element: ${(error as Error).message}`);
    }
    return { fragment, values: params };
  }
  const name = message['methodName'];
  if (typeof name !== 'string' || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) throw invalid("Give 'method' (an ABI function element) or 'methodName' with typed params");
  const typed = params.map((p, i) => {
    const entry = p as { type?: unknown; value?: unknown } | null;
    if (typeof entry?.type !== 'string') throw invalid(`params[${i}] must be {"type": "<solidity type>", "value": …} when 'methodName' is used`);
    return entry;
  });
  let fragment: FunctionFragment;
  try {
    fragment = FunctionFragment.from(`function ${name}(${typed.map((t) => t.type).join(',')})`);
  } catch (error) {
    throw invalid(`The param types of '${name}' are not Solidity types: ${(error as Error).message}`);
  }
  return { fragment, values: typed.map((t) => t.value) };
}

/** Positional values → the by-name body collectArgs reads. */
function byName(inputs: FunctionFragment['inputs'], values: unknown[]): Record<string, unknown> {
  if (values.length > inputs.length) throw new RestError(400, RestErrorCode.TooManyParameters, `${values.length} params given, the method takes ${inputs.length}`);
  const body: Record<string, unknown> = {};
  inputs.forEach((input, i) => {
    if (i < values.length) body[inputName(input, i)] = values[i];
  });
  return body;
}

/**
 * ethconnect's raw message API: POST /, /hook, /fasthook with `SendTransaction`, `DeployContract`
 * or `Query` (research/rest-gateway.md §2.8). Transactions go the asynchronous way (the reply lands
 * in /replies); a Query answers at once. Answers `{sent: true, id}`, or `{sent: false, error}` with
 * the code inside the text, as ethconnect.
 */
export class WebhookApi {
  constructor(
    private readonly ports: WebhookPorts,
    private readonly options: { bodyLimitBytes: number; baseUrl: string },
  ) {}

  async handle(req: IncomingMessage): Promise<HttpAnswer> {
    try {
      return await this.process(req);
    } catch (error) {
      const restError = toRestError(error);
      return { status: restError.status, body: { sent: false, error: `${restError.code}: ${restError.message}` } };
    }
  }

  private async process(req: IncomingMessage): Promise<HttpAnswer> {
    const receivedAt = Date.now();
    const message = await readBody(req, this.options.bodyLimitBytes);
    const headers = message['headers'] as Record<string, unknown> | undefined;
    if (typeof headers !== 'object' || headers === null) throw invalid("Invalid message - missing 'headers' (FFEC100193)");
    const type = headers['type'];
    if (typeof type !== 'string' || type === '') throw invalid("Invalid message - missing 'headers.type'");
    const from = typeof message['from'] === 'string' ? message['from'] : undefined;
    if (!from && type !== 'Query') throw invalid("Invalid message - missing 'from'");
    for (const field of ['privateFrom', 'privateFor', 'privacyGroupId']) {
      if (message[field] !== undefined && message[field] !== null) {
        throw new RestError(400, RestErrorCode.PrivacyNotSupported, `'${field}': private transactions (Tessera / Orion) are not supported by this gateway; nothing was sent`);
      }
    }
    const id = typeof headers['id'] === 'string' && headers['id'] !== '' ? headers['id'] : randomUUID();
    if (!/^[0-9a-zA-Z._:-]{1,200}$/.test(id)) throw invalid(`Invalid 'headers.id' '${id.slice(0, 50)}': letters, digits, '-', '_', '.' or ':'`);
    const context = { requestId: id, receivedAt, baseUrl: baseUrlOf(req, this.options.baseUrl), requestPayload: JSON.stringify(message) };
    const ackType = message['acktype'] === 'receipt' ? 'receipt' : undefined;
    const fields = {
      ...(quantityField(message, 'gas') ? { gas: quantityField(message, 'gas') } : {}),
      ...(quantityField(message, 'gasPrice') ? { gasPrice: quantityField(message, 'gasPrice') } : {}),
      ...(quantityField(message, 'value') && quantityField(message, 'value') !== '0x0' ? { value: quantityField(message, 'value') } : {}),
      ...(quantityField(message, 'nonce') !== undefined ? { nonce: quantityField(message, 'nonce') } : {}),
    };

    switch (type) {
      case 'SendTransaction': {
        const to = parseFrom(typeof message['to'] === 'string' ? message['to'] : undefined, false);
        if (!to) throw invalid("Invalid message - missing 'to'");
        const { fragment, values } = functionOf(message);
        const data = encodeFunctionData(fragment, collectArgs(fragment, byName(fragment.inputs, values), {}));
        const request: RestTransactionRequest = { kind: 'send', tx: { from: parseFrom(from, true) as string, to, data, ...fields } };
        const answer = await this.ports.dispatcher.async(request, context, { ackType });
        return { status: 200, body: answer.body };
      }
      case 'DeployContract': {
        const abi = message['abi'];
        const compiled = message['compiled'];
        if (!Array.isArray(abi) || typeof compiled !== 'string') {
          throw invalid("DeployContract needs 'abi' (JSON array) and 'compiled' (the bytecode, base64 or 0x hex); Solidity sources go to POST /abis");
        }
        const bytecode = /^0x[0-9a-fA-F]*$/.test(compiled) ? compiled : `0x${Buffer.from(compiled, 'base64').toString('hex')}`;
        if (bytecode === '0x') throw invalid("'compiled' is empty");
        const ctorAbi = abi.find((e) => (e as { type?: string }).type === 'constructor');
        const ctor = ctorAbi ? ConstructorFragment.from(ctorAbi as object) : ConstructorFragment.from('constructor()');
        const params = Array.isArray(message['params']) ? (message['params'] as unknown[]) : [];
        const data = encodeDeployData(ctor, bytecode, collectArgs(ctor, byName(ctor.inputs, params), {}));
        const registerAs = typeof message['registerAs'] === 'string' && message['registerAs'] !== '' ? message['registerAs'] : undefined;
        const abiId = registerAs ? await this.ports.storeAbi(abi, bytecode, typeof message['contractName'] === 'string' ? message['contractName'] : undefined) : undefined;
        const request: RestTransactionRequest = { kind: 'deploy', tx: { from: parseFrom(from, true) as string, data, ...fields }, ...(abiId ? { abiId, registerAs } : {}) };
        const answer = await this.ports.dispatcher.async(request, context, { ackType });
        return { status: 200, body: answer.body };
      }
      case 'Query': {
        const to = parseFrom(typeof message['to'] === 'string' ? message['to'] : undefined, false);
        if (!to) throw invalid("Invalid message - missing 'to'");
        const { fragment, values } = functionOf(message);
        const data = encodeFunctionData(fragment, collectArgs(fragment, byName(fragment.inputs, values), {}));
        const block = parseBlockTag(typeof message['blockNumber'] === 'string' ? message['blockNumber'] : undefined);
        const caller = parseFrom(from, false);
        const result = await this.ports.nodeCall<string>('eth_call', [{ ...(caller ? { from: caller } : {}), to, data }, block]).catch((error: unknown) => {
          throw toRestError(error);
        });
        // methodName + typed params declare no outputs: the raw return data is all there is to give.
        return { status: 200, body: fragment.outputs.length ? formatOutputs(fragment, result) : { raw: result } };
      }
      default:
        throw invalid(`Invalid message type: ${type.slice(0, 50)} (SendTransaction, DeployContract or Query)`);
    }
  }
}
