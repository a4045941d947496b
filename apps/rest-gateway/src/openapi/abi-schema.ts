import type { ParamType } from 'ethers';
import type { SwaggerSchema } from './swagger-types';

/*
 * ABI type ⇄ JSON Schema, as ethconnect's generated Swagger maps them (research/rest-gateway.md §2.5,
 * FE openapi/abi2swagger.go mapTypeToSchema), with one deliberate improvement: ethconnect emits a bare
 * `object` for a tuple; we list the components as properties (all required on inputs, as the runtime
 * requires every component, §3.1), so Swagger UI and generated clients can build the body.
 *
 * NOTE: apps/rest-gateway/src/abi/ (written in parallel) has its own signature/argument-name helpers;
 * these are kept local on purpose and should be merged with those once both have landed.
 */

/** Integers travel as base-10 strings (JSON numbers are also accepted but lose precision past 2^53, §3.1). */
export const INTEGER_PATTERN = '^-?[0-9]+$';
export const ADDRESS_PATTERN = '^(0x)?[a-fA-F0-9]{40}$';
export const BYTES_PATTERN = '^(0x)?[a-fA-F0-9]+$';

export type ArgumentRole = 'input' | 'output';

/**
 * The JSON key of an ABI argument: its name, or for an unnamed one `input`/`output` for position 0 and
 * `input<i>`/`output<i>` for position i (the index of the argument, not a count of unnamed ones)
 * (§2.3 step 5, §3.2; FE abi2swagger.go buildArgumentsDefinition, rest2eth.go).
 */
export function argumentName(name: string, index: number, role: ArgumentRole): string {
  if (name) return name;
  return index === 0 ? role : `${role}${index}`;
}

/** Canonical type as it appears in a signature: `uint256`, `(uint256,bytes32[])[2]`. */
export function canonicalType(param: ParamType): string {
  return param.format('sighash');
}

/** `transfer(address,uint256)`; the constructor is `constructor(...)` as in ethconnect summaries (§2.5). */
export function signature(name: string, inputs: readonly ParamType[]): string {
  return `${name}(${inputs.map(canonicalType).join(',')})`;
}

/** The schema of one ABI argument; `description` is the canonical type, followed by its devdoc when there is one. */
export function argumentSchema(param: ParamType, role: ArgumentRole, doc?: string): SwaggerSchema {
  const description = doc ? `${canonicalType(param)}: ${doc}` : canonicalType(param);
  return { description, ...typeSchema(param, role) };
}

/** An object schema whose properties are the given arguments (used for `<m>_inputs`, `<m>_outputs`, `<E>_event`). */
export function argumentsSchema(params: readonly ParamType[], role: ArgumentRole, docFor: (name: string, index: number) => string | undefined = () => undefined): SwaggerSchema {
  const properties: Record<string, SwaggerSchema> = {};
  params.forEach((param, index) => {
    properties[argumentName(param.name, index, role)] = argumentSchema(param, role, docFor(param.name, index));
  });
  const schema: SwaggerSchema = { type: 'object', properties };
  // Swagger 2.0 forbids an empty `required` list; outputs are never "required" (they are what the server sends).
  if (role === 'input' && params.length > 0) schema.required = Object.keys(properties);
  return schema;
}

function typeSchema(param: ParamType, role: ArgumentRole): SwaggerSchema {
  if (param.isArray()) {
    const schema: SwaggerSchema = { type: 'array', items: typeSchema(param.arrayChildren, role) };
    // T[k] has exactly k elements; ethconnect does not say so, but it costs nothing and UIs use it.
    if (param.arrayLength >= 0) {
      schema.minItems = param.arrayLength;
      schema.maxItems = param.arrayLength;
    }
    return schema;
  }
  if (param.isTuple()) return argumentsSchema(param.components, role);
  const base = param.baseType;
  if (base === 'bool') return { type: 'boolean' };
  if (base === 'address') return { type: 'string', pattern: ADDRESS_PATTERN };
  if (base === 'string') return { type: 'string' };
  if (base === 'bytes') return { type: 'string', pattern: BYTES_PATTERN };
  const fixedBytes = /^bytes([0-9]+)$/.exec(base);
  if (fixedBytes) return { type: 'string', pattern: `^(0x)?[a-fA-F0-9]{${Number(fixedBytes[1]) * 2}}$` };
  if (/^u?int[0-9]*$/.test(base)) return { type: 'string', pattern: INTEGER_PATTERN };
  // fixed/ufixed and anything else: ethconnect falls back to a plain string (FE mapArgToSchema default).
  return { type: 'string' };
}
