/**
 * The ethconnect-compatible JSON ⇄ ABI codec of the REST gateway (research/rest-gateway.md §2.3, §2.4, §3).
 * Pure functions over ethers v6 fragments; errors are RestErrors carrying the HTTP status and FFEC code.
 */
export { parseAbi } from './parse-abi';
export { resolveTarget, type AbiTarget } from './resolve-target';
export { isReadOnly } from './read-only';
export { inputName, outputName, componentName, methodLabel } from './names';
export { collectArgs, type QueryParams } from './collect-args';
export { convertInput, type EncodableValue, type ValueContext } from './convert-input';
export { encodeFunctionData, encodeDeployData } from './encode';
export { formatOutputs, decodeInputArgs } from './decode';
export { formatValue, type FormattedValue, type DecodedValues, type DecodeFailure } from './format-value';
export { decodeRevertReason } from './revert';
export { formatEventData, type EventLog } from './events';
export { functionSignature } from './signature';
