import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ConstructorFragment, FunctionFragment } from 'ethers';
import { NodeError } from '@hsm-signer/ethereum';
import {
  collectArgs,
  decodeInputArgs,
  decodeRevertReason,
  encodeDeployData,
  encodeFunctionData,
  formatOutputs,
  isReadOnly,
  resolveTarget,
} from '../abi';
import { RestError, RestErrorCode, toRestError } from '../errors';
import { readBody } from '../http/body';
import { SpecialParams, type ParamPrefixes } from '../http/special-params';
import type { HttpAnswer, RestTransactionRequest, TransactionDispatcher } from '../dispatch/transaction-dispatcher';
import { baseUrlOf } from './respond';
import { parseBlockTag, parseFrom, requestIdOf, txOptions } from './tx-params';

export interface InvokeTarget {
  abiId: string;
  abi: readonly unknown[];
  /** The contract address (instance routes, /abis/{abi}/{address}/{method}); absent for a deploy. */
  address?: string;
  bytecode?: string;
  deployable?: boolean;
}

export interface InvokerPorts {
  /** eth_call, eth_getTransactionByHash (EthNodeClient.call). */
  nodeCall<T>(method: string, params: unknown[]): Promise<T>;
  dispatcher: Pick<TransactionDispatcher, 'sync' | 'async'>;
}

export interface InvokerOptions {
  bodyLimitBytes: number;
  baseUrl: string;
  prefixes: ParamPrefixes;
}

/** ethconnect's answer when event support is not configured (FE restgateway.go, code FFEC100207). */
export function eventsNotSupported(): RestError {
  return new RestError(405, RestErrorCode.EventsNotSupported, 'Event support is not configured on this gateway: event streams and subscriptions are not built yet');
}

/** The query parameters that are not special ones: candidates for ABI inputs (FE rest2eth.go:420-441). */
function plainQuery(search: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of search) {
    if (/^(kld|fly)-/i.test(key)) continue;
    (out[key] ??= []).push(value);
  }
  return out;
}

/**
 * A method route of the generated API (research/rest-gateway.md §2.3): resolves the method in the
 * ABI, takes its inputs from the body then the query, and dispatches: an event → not supported here;
 * `transaction` → decode that transaction; GET, view/pure or `call` → eth_call; else a transaction
 * (or a deploy for the constructor), sync or async.
 */
export class ContractInvoker {
  constructor(
    private readonly ports: InvokerPorts,
    private readonly options: InvokerOptions,
  ) {}

  async invoke(req: IncomingMessage, target: InvokeTarget, methodName: string | undefined): Promise<HttpAnswer> {
    const receivedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://gateway');
    const params = new SpecialParams(url.searchParams, req.headers, this.options.prefixes);
    const isGet = req.method === 'GET';
    const resolved = resolveTarget(target.abi, methodName);
    if (resolved.kind === 'event') throw eventsNotSupported();
    for (const name of ['privatefrom', 'privatefor', 'privacygroupid']) {
      if (params.has(name)) throw new RestError(400, RestErrorCode.PrivacyNotSupported, `kld-${name}: private transactions (Tessera / Orion) are not supported by this gateway; nothing was sent`);
    }
    const body = isGet ? {} : await readBody(req, this.options.bodyLimitBytes);
    const query = plainQuery(url.searchParams);

    if (resolved.kind === 'constructor') {
      if (isGet) throw new RestError(405, RestErrorCode.MethodNotFound, 'A deploy (the constructor) is a POST');
      if (!target.deployable || !target.bytecode) {
        throw new RestError(400, RestErrorCode.InvalidAbiUpload, `ABI ${target.abiId} has no bytecode, so it cannot be deployed: upload it again with its 'bytecode' (or its Solidity source)`);
      }
      const args = collectArgs(resolved.fragment, body, query);
      const data = encodeDeployData(resolved.fragment, target.bytecode, args);
      return this.transact(req, params, { kind: 'deploy', data, abiId: target.abiId, registerAs: params.string('register') }, body, receivedAt, resolved.fragment);
    }

    const fragment = resolved.fragment;
    if (!target.address) throw new RestError(404, RestErrorCode.InvalidAddress, 'No contract address in the path');
    const transaction = params.string('transaction');
    if (transaction !== undefined && isGet) return this.lookup(transaction, fragment);

    const args = collectArgs(fragment, body, query);
    const data = encodeFunctionData(fragment, args);
    if (isGet || isReadOnly(fragment) || params.bool('call')) return this.call(params, target, fragment, data);
    return this.transact(req, params, { kind: 'send', data, to: target.address, abiId: target.abiId }, body, receivedAt, fragment);
  }

  private async call(params: SpecialParams, target: InvokeTarget, fragment: FunctionFragment, data: string): Promise<HttpAnswer> {
    const from = parseFrom(params.string('from'), false);
    const block = parseBlockTag(params.string('blocknumber'));
    const options = txOptions(params);
    const call = { ...(from ? { from } : {}), to: target.address, data, ...(options.value ? { value: options.value } : {}), ...(options.gas ? { gas: options.gas } : {}) };
    let result: string;
    try {
      result = await this.ports.nodeCall<string>('eth_call', [call, block]);
    } catch (error) {
      if (error instanceof NodeError) {
        const revertData = typeof error.data === 'string' ? error.data : (error.data as { data?: unknown } | undefined)?.data;
        const reason = typeof revertData === 'string' ? decodeRevertReason(revertData, target.abi) : undefined;
        if (reason !== undefined) throw new RestError(500, RestErrorCode.CallReverted, reason, { cause: error });
        throw new RestError(500, RestErrorCode.CallFailed, `Call failed: ${error.message}`, { cause: error });
      }
      throw toRestError(error);
    }
    return { status: 200, body: formatOutputs(fragment, result) };
  }

  private async lookup(hash: string, fragment: FunctionFragment): Promise<HttpAnswer> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) throw new RestError(400, RestErrorCode.InvalidParameter, `Invalid 'transaction' '${hash.slice(0, 80)}': a 0x-prefixed 32-byte transaction hash`);
    let tx: Record<string, string | null> | null;
    try {
      tx = await this.ports.nodeCall<Record<string, string | null> | null>('eth_getTransactionByHash', [hash]);
    } catch (error) {
      throw toRestError(error);
    }
    if (!tx) throw new RestError(404, RestErrorCode.ReceiptNotFound, `Transaction ${hash} is not known to the node`);
    const dec = (v: string | null | undefined) => (v ? BigInt(v).toString(10) : '');
    const input = tx['input'] ?? '0x';
    return {
      status: 200,
      body: {
        blockHash: tx['blockHash'],
        blockNumber: dec(tx['blockNumber']),
        blockNumberHex: tx['blockNumber'],
        from: tx['from']?.toLowerCase(),
        to: tx['to']?.toLowerCase() ?? null,
        gas: dec(tx['gas']),
        gasHex: tx['gas'],
        gasPrice: dec(tx['gasPrice']),
        gasPriceHex: tx['gasPrice'],
        hash: tx['hash'],
        nonce: dec(tx['nonce']),
        nonceHex: tx['nonce'],
        transactionIndex: dec(tx['transactionIndex']),
        transactionIndexHex: tx['transactionIndex'],
        value: dec(tx['value']),
        valueHex: tx['value'],
        input,
        inputArgs: decodeInputArgs(fragment, input),
      },
    };
  }

  private async transact(
    req: IncomingMessage,
    params: SpecialParams,
    what: { kind: 'send' | 'deploy'; data: string; to?: string; abiId: string; registerAs?: string },
    body: Record<string, unknown>,
    receivedAt: number,
    fragment: FunctionFragment | ConstructorFragment,
  ): Promise<HttpAnswer> {
    const from = parseFrom(params.string('from'), true) as string;
    const options = txOptions(params);
    if (options.value && !fragment.payable) {
      throw new RestError(400, RestErrorCode.InvalidParameter, `'${fragment.type === 'constructor' ? 'constructor' : (fragment as FunctionFragment).name}' is not payable: remove kld-ethvalue`);
    }
    const request: RestTransactionRequest = {
      kind: what.kind,
      tx: { from, ...(what.to ? { to: what.to } : {}), data: what.data, ...options },
      abiId: what.abiId,
      ...(what.registerAs ? { registerAs: what.registerAs } : {}),
    };
    const context = {
      requestId: requestIdOf(params, randomUUID),
      receivedAt,
      baseUrl: baseUrlOf(req, this.options.baseUrl),
      requestPayload: JSON.stringify(body),
    };
    if (params.bool('sync')) return this.ports.dispatcher.sync(request, context);
    return this.ports.dispatcher.async(request, context, { ackType: params.string('acktype') });
  }
}
