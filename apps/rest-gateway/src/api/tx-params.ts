import { toQuantity } from 'ethers';
import { RestError, RestErrorCode } from '../errors';
import type { SpecialParams } from '../http/special-params';

const DECIMAL = /^[0-9]+$/;

function decimalQuantity(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim();
  if (!DECIMAL.test(value)) throw new RestError(400, RestErrorCode.InvalidParameter, `Invalid '${name}': '${raw}' is not a base-10 integer (e.g. kld-${name}=1000000000000000000)`);
  return toQuantity(BigInt(value));
}

/** `from`: 40 hex characters with an optional 0x, any case (FE rest2eth.go:388-402); otherwise 404 FFEC100097 as ethconnect. */
export function parseFrom(raw: string | undefined, required: boolean): string | undefined {
  if (raw === undefined || raw === '') {
    if (required) throw new RestError(400, RestErrorCode.MissingFrom, "Please specify a valid address in the 'kld-from' query string parameter or x-kaleido-from HTTP header");
    return undefined;
  }
  const hex = raw.startsWith('0x') || raw.startsWith('0X') ? raw.slice(2) : raw;
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new RestError(404, RestErrorCode.InvalidFrom, `From Address must be a 40 character hex string (0x prefix is optional): '${raw}'`);
  return `0x${hex.toLowerCase()}`;
}

/** An {address} path segment (FE rest2eth.go: 40 hex, optional 0x); 404 FFEC100096 otherwise. */
export function parseAddressSegment(raw: string): string {
  const hex = raw.startsWith('0x') || raw.startsWith('0X') ? raw.slice(2) : raw;
  // Any case, no EIP-55 check: ethconnect asks for 40 hex characters only.
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new RestError(404, RestErrorCode.InvalidAddress, `To Address must be a 40 character hex string (0x prefix is optional): '${raw}'`);
  return `0x${hex.toLowerCase()}`;
}

/** The transaction fields the special parameters set: ethvalue, gas, gasprice (base-10, FE rest2eth.go:404,555). */
export function txOptions(params: SpecialParams): { value?: string; gas?: string; gasPrice?: string } {
  const value = decimalQuantity('ethvalue', params.string('ethvalue'));
  const gasRaw = params.string('gas');
  // gas 0 means "estimate" in ethconnect (FE eth/send.go:37-66).
  const gas = gasRaw !== undefined && gasRaw.trim() !== '0' ? decimalQuantity('gas', gasRaw) : undefined;
  const gasPriceRaw = params.string('gasprice');
  const gasPrice = gasPriceRaw !== undefined && gasPriceRaw.trim() !== '0' ? decimalQuantity('gasprice', gasPriceRaw) : undefined;
  return { ...(value && value !== '0x0' ? { value } : {}), ...(gas ? { gas } : {}), ...(gasPrice ? { gasPrice } : {}) };
}

/** `blocknumber`: earliest / latest / pending (also safe, finalized), decimal, or 0x hex (FE eth/send.go:128-150); 400 otherwise. */
export function parseBlockTag(raw: string | undefined): string {
  if (raw === undefined) return 'latest';
  const value = raw.trim().toLowerCase();
  if (['earliest', 'latest', 'pending', 'safe', 'finalized'].includes(value)) return value;
  if (DECIMAL.test(value)) return toQuantity(BigInt(value));
  if (/^0x[0-9a-f]+$/.test(value)) return toQuantity(BigInt(value));
  throw new RestError(400, RestErrorCode.InvalidBlockNumber, `Invalid 'blocknumber' '${raw}': use latest, pending, earliest, a decimal number or 0x hex`);
}

/** The request id: `kld-id` when given (ethconnect allows [0-9a-zA-Z-], we also allow . _ :), else a fresh UUID. */
export function requestIdOf(params: SpecialParams, generate: () => string): string {
  const id = params.string('id');
  if (id === undefined) return generate();
  if (!/^[0-9a-zA-Z._:-]{1,200}$/.test(id)) throw new RestError(400, RestErrorCode.InvalidParameter, `Invalid request id '${id.slice(0, 50)}': use 1–200 letters, digits, '-', '_', '.' or ':'`);
  return id;
}
