import type { SwaggerRef, SwaggerSimpleParameter } from './swagger-types';

/**
 * The branding of special parameters: query `<short>-<name>`, header `x-<long>-<name>` (research §1).
 * Our gateway accepts both `kld`/`kaleido` and `fly`/`firefly`; a document can only name one set.
 */
export interface SwaggerPrefix {
  short: string;
  long: string;
}

/** What Kaleido's hosted gateway emits and our default (§1, GEN). */
export const KALEIDO_PREFIX: SwaggerPrefix = { short: 'kld', long: 'kaleido' };
/** ethconnect's post-2021 default (`PREFIX_SHORT`/`PREFIX_LONG`, §1). */
export const FIREFLY_PREFIX: SwaggerPrefix = { short: 'fly', long: 'firefly' };

export interface CommonParameterOptions {
  prefix: SwaggerPrefix;
  /** Default of the from parameter (`?swagger&from=<addr>`, §2.2). */
  defaultFrom?: string;
}

/** Keys of the shared `#/parameters` (§2.5, FE abi2swagger.go getCommonParameters). */
export type CommonParameterKey =
  | 'idParam'
  | 'fromParam'
  | 'valueParam'
  | 'gasParam'
  | 'gaspriceParam'
  | 'syncParam'
  | 'callParam'
  | 'privateFromParam'
  | 'privateForParam'
  | 'privacyGroupIdParam'
  | 'registerParam'
  | 'blocknumberParam'
  | 'acktypeParam'
  | 'transactionParam';

/**
 * The shared parameters. Names, types and flags follow ethconnect so generated clients keep their method
 * signatures: ethvalue/gas/gasprice are `integer` (clients send them as decimal strings anyway); sync
 * defaults to `true` in the document although the server default is async (§1.2), so UIs get receipts.
 * `privacyGroupIdParam` is always defined (an unreferenced shared parameter is valid) and only referenced
 * when the caller enables it, as ethconnect does with `orionPrivateAPIs`.
 */
export function commonParameters({ prefix, defaultFrom }: CommonParameterOptions): Record<CommonParameterKey, SwaggerSimpleParameter> {
  const param = (name: string, description: string, type: SwaggerSimpleParameter['type'], extra: Partial<SwaggerSimpleParameter> = {}): SwaggerSimpleParameter => ({
    name: `${prefix.short}-${name}`,
    in: 'query',
    description: `${description} (header: x-${prefix.long}-${name})`,
    required: false,
    type,
    ...extra,
  });
  const from = param('from', "The 'from' address", 'string');
  if (defaultFrom) from.default = defaultFrom;
  return {
    idParam: param('id', 'Optionally set the ID for this request - must be unique if set', 'string'),
    fromParam: from,
    valueParam: param('ethvalue', 'Ether value to send with the transaction, in wei', 'integer', { allowEmptyValue: true }),
    gasParam: param('gas', 'Gas to send with the transaction (auto-calculated if not set)', 'integer', { allowEmptyValue: true }),
    gaspriceParam: param('gasprice', 'Gas Price offered', 'integer', { allowEmptyValue: true }),
    syncParam: param('sync', 'Block the HTTP request until the tx is mined (does not store the receipt)', 'boolean', { allowEmptyValue: true, default: true }),
    callParam: param('call', 'Perform a read-only call with the same parameters that would be used to invoke, and return result', 'boolean', { allowEmptyValue: true }),
    privateFromParam: param('privatefrom', 'Private transaction sender', 'string'),
    privateForParam: param('privatefor', 'Private transaction recipients (comma separated or multiple params)', 'string'),
    privacyGroupIdParam: param('privacygroupid', 'Private transaction group ID', 'string'),
    registerParam: param('register', 'Register the installed contract on a friendly path (overwrites existing)', 'string'),
    blocknumberParam: param('blocknumber', "The target block number for eth_call requests. One of 'earliest/latest/pending', a number or a hex string", 'string'),
    acktypeParam: param('acktype', "Set to 'receipt' to store a receipt before acknowledging an async request", 'string', { allowEmptyValue: true }),
    transactionParam: param('transaction', 'Query the details for the provided transaction hash', 'string', { allowEmptyValue: true }),
  };
}

export function parameterRef(key: CommonParameterKey): SwaggerRef {
  return { $ref: `#/parameters/${key}` };
}

/**
 * Special parameters of a GET method route (calls and `transaction` lookups). ethconnect lists
 * id/from/ethvalue/gas/gasprice/transaction (§2.5); we add blocknumber, which calls honour (§1.2) but
 * ethconnect only documents on POST.
 */
export const GET_PARAMETERS: readonly CommonParameterKey[] = ['idParam', 'fromParam', 'valueParam', 'gasParam', 'gaspriceParam', 'blocknumberParam', 'transactionParam'];

/** Special parameters of a POST method/constructor route, in ethconnect's order (§2.5, FE addCommonParams). */
export function postParameters(options: { privacyGroupId: boolean; deploy: boolean }): CommonParameterKey[] {
  const keys: CommonParameterKey[] = ['idParam', 'fromParam', 'valueParam', 'gasParam', 'gaspriceParam', 'syncParam', 'callParam', 'privateFromParam', 'privateForParam', 'blocknumberParam', 'acktypeParam'];
  if (options.privacyGroupId) keys.push('privacyGroupIdParam');
  if (options.deploy) keys.push('registerParam');
  return keys;
}
