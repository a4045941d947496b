import { ConstructorFragment, EventFragment, Fragment, FunctionFragment, Interface, type JsonFragment, type ParamType } from 'ethers';
import { argumentName, argumentSchema, argumentsSchema, signature, ADDRESS_PATTERN } from './abi-schema';
import { commonParameters, GET_PARAMETERS, KALEIDO_PREFIX, parameterRef, postParameters, type SwaggerPrefix } from './common-parameters';
import { STANDARD_DEFINITIONS, subscribeRequestSchema } from './standard-definitions';
import type { SecurityRequirement, SwaggerDocument, SwaggerOperation, SwaggerParameter, SwaggerPathItem, SwaggerResponse, SwaggerSchema, SwaggerSimpleParameter } from './swagger-types';

/** The parts of solc's `devdoc` output the document uses (FE abi2swagger.go reads the same keys). */
export interface SolidityDevdoc {
  details?: string;
  /** Keyed by signature (`transfer(address,uint256)`); solc keys the constructor as `constructor`. */
  methods?: Record<string, MemberDoc | undefined>;
  /** Keyed by signature (`Transfer(address,address,uint256)`). */
  events?: Record<string, MemberDoc | undefined>;
}

export interface MemberDoc {
  details?: string;
  params?: Record<string, string | undefined>;
  /** solc ≥ 0.6: keyed by output name, or `_0`, `_1`… for unnamed outputs. */
  returns?: Record<string, string | undefined>;
  /** solc < 0.6: one text for all outputs. */
  return?: string;
}

export interface BuildSwaggerOptions {
  /** JSON ABI; parsed with ethers `Interface` (throws on an invalid fragment). */
  abi: readonly unknown[];
  /**
   * `abi`: the factory document of an uploaded ABI (basePath `/abis/<id>`): constructor, register and
   * every method/event on `/{address}/…`. `contract`: the document of one instance (basePath
   * `/contracts/<name-or-address>`): methods and events on `/…` (§2.5).
   */
  kind: 'abi' | 'contract';
  /** `info.title`: the contract name, or the ABI id (§2.5). */
  title: string;
  /** `info.description`; defaults to `devdoc.details`. */
  description?: string;
  /** Per-method/event/parameter descriptions. */
  devdoc?: SolidityDevdoc;
  /** `host[:port]` clients send requests to; omitted from the document when empty (then the UI uses its own origin). */
  host?: string;
  /** Path prefix of the routes, e.g. `/abis/<id>` or `/contracts/<name>`; must start with `/`. */
  basePath: string;
  /** Default `['http', 'https']` as ethconnect (FE NewABI2Swagger); `&schemes=` overrides (§2.2). */
  schemes?: readonly string[];
  /** Drop the basic-auth security definition and requirements (`&noauth`, §2.2). */
  noauth?: boolean;
  /** Only the constructor (`&factory`, §2.2); ignored for `kind: 'contract'`. */
  factoryOnly?: boolean;
  /** Default of the from parameter (`&from=<addr>`, §2.2). */
  defaultFrom?: string;
  /** Branding of the special parameters; default `kld`/`kaleido` (§1). */
  prefix?: SwaggerPrefix;
  /** `info.x-<long>-deployment-id` (§2.5). */
  deploymentId?: string;
  /** `info.x-<long>-registered-name` (§2.5). */
  registeredName?: string;
  /** Whether the ABI has bytecode; without it there is no constructor path. Default true. */
  deployable?: boolean;
  /** Reference `privacyGroupIdParam` on POSTs (ethconnect's `orionPrivateAPIs`, §1.2). Default false. */
  privacyGroupId?: boolean;
}

const CONSUMES = ['application/json', 'application/x-yaml'];
const PRODUCES = ['application/json'];

const ref = (definition: string): SwaggerSchema => ({ $ref: `#/definitions/${definition}` });
const errorResponse: SwaggerResponse = { description: 'error', schema: ref('error') };

/** `KaleidoAppCredential` for `kaleido`, `FireflyAppCredential` for `firefly` (§2.5). */
export function appCredentialName(prefix: SwaggerPrefix): string {
  return `${prefix.long.charAt(0).toUpperCase()}${prefix.long.slice(1)}AppCredential`;
}

/** Builds the ethconnect-compatible Swagger 2.0 document of an ABI or a contract instance (§2.5). */
export function buildSwagger(options: BuildSwaggerOptions): SwaggerDocument {
  if (!options.basePath.startsWith('/')) throw new TypeError(`basePath must start with '/': ${options.basePath}`);
  // ethconnect lower-cases PREFIX_SHORT/PREFIX_LONG (FE utils/envutils.go GetenvOrDefaultLowerCase, §1).
  const given = options.prefix ?? KALEIDO_PREFIX;
  const prefix = { short: given.short.toLowerCase(), long: given.long.toLowerCase() };
  // Fragment.from throws on a bad entry; Interface alone would log a warning and drop it, and the
  // document would silently lack that method.
  const iface = new Interface(options.abi.map((entry) => Fragment.from(entry as JsonFragment)));
  const builder = new DocumentBuilder({
    factory: options.kind === 'abi',
    security: options.noauth ? undefined : appCredentialName(prefix),
    privacyGroupId: options.privacyGroupId ?? false,
    devdoc: options.devdoc ?? {},
  });

  if (options.kind === 'abi') {
    if (options.deployable ?? true) builder.addConstructor(iface.deploy);
    if (!options.factoryOnly) {
      builder.addRegisterAddress();
      builder.addMembers(iface);
    }
  } else {
    builder.addMembers(iface);
  }

  const info: SwaggerDocument['info'] = { title: options.title, version: '1.0' };
  const description = options.description ?? options.devdoc?.details;
  if (description) info.description = description;
  if (options.deploymentId) info[`x-${prefix.long}-deployment-id`] = options.deploymentId;
  if (options.registeredName) info[`x-${prefix.long}-registered-name`] = options.registeredName;

  const doc: SwaggerDocument = {
    swagger: '2.0',
    info,
    basePath: options.basePath,
    schemes: [...(options.schemes ?? ['http', 'https'])],
    consumes: CONSUMES,
    produces: PRODUCES,
    paths: builder.paths,
    definitions: { ...builder.definitions, ...STANDARD_DEFINITIONS },
    parameters: commonParameters({ prefix, defaultFrom: options.defaultFrom }),
  };
  if (options.host) doc.host = options.host;
  if (!options.noauth) doc.securityDefinitions = { [appCredentialName(prefix)]: { type: 'basic' } };
  // The document shares constant schemas and lists; a copy lets callers (and in-place dereferencers
  // such as swagger-parser) modify it without changing the next document.
  return structuredClone(doc);
}

interface BuilderOptions {
  factory: boolean;
  security: string | undefined;
  privacyGroupId: boolean;
  devdoc: SolidityDevdoc;
}

/** Accumulates paths and per-member definitions; one instance per document. */
class DocumentBuilder {
  readonly paths: Record<string, SwaggerPathItem> = {};
  readonly definitions: Record<string, SwaggerSchema> = {};

  constructor(private readonly options: BuilderOptions) {}

  addConstructor(fragment: ConstructorFragment): void {
    const sig = signature('constructor', fragment.inputs);
    const docs = this.options.devdoc.methods?.['constructor'] ?? this.options.devdoc.methods?.[sig];
    this.definitions['constructor_inputs'] = argumentsSchema(fragment.inputs, 'input', paramDoc(docs));
    this.paths['/'] = {
      post: this.operation({
        operationId: 'constructor_post',
        summary: sig,
        description: docs?.details,
        consumes: CONSUMES,
        parameters: [bodyParameter('constructor_inputs'), ...postParameters({ privacyGroupId: this.options.privacyGroupId, deploy: true }).map(parameterRef)],
        responses: {
          200: { description: 'Receipt of the mined deployment (sync)', schema: ref('receipt') },
          202: { description: 'Deployment accepted; the receipt arrives at /replies/{id} (async)', schema: ref('asyncResponse') },
        },
      }),
    };
  }

  /** `POST /{address}`: register an existing deployment under this ABI (local ABIs only, §2.2). */
  addRegisterAddress(): void {
    this.paths['/{address}'] = {
      post: this.operation({
        operationId: 'registerAddress',
        summary: 'Register an existing contract address',
        description: 'Add a friendly path for an instance of this contract already deployed to the chain',
        consumes: CONSUMES,
        parameters: [addressParameter(), parameterRef('registerParam'), { name: 'body', in: 'body', required: false, schema: { type: 'object', description: 'Registration request (no properties yet)' } }],
        responses: { 201: { description: 'Successfully registered', schema: ref('contractInfo') } },
      }),
    };
  }

  /**
   * Functions and events in ABI order. Overloads: the REST routes resolve `{method}` to the first ABI
   * entry of that name (§2.3 step 2, "overloads not supported"), so only that one gets a path; a later
   * overload would be unreachable.
   */
  addMembers(iface: Interface): void {
    const seenFunctions = new Set<string>();
    const seenEvents = new Set<string>();
    for (const fragment of iface.fragments) {
      if (fragment instanceof FunctionFragment && !seenFunctions.has(fragment.name)) {
        seenFunctions.add(fragment.name);
        this.addFunction(fragment);
      } else if (fragment instanceof EventFragment && !seenEvents.has(fragment.name)) {
        seenEvents.add(fragment.name);
        this.addEvent(fragment);
      }
    }
  }

  private addFunction(fragment: FunctionFragment): void {
    const { name } = fragment;
    const sig = signature(name, fragment.inputs);
    const docs = this.options.devdoc.methods?.[sig];
    const summary = fragment.constant ? `${sig} [read only]` : sig;
    const inputs = `${name}_inputs`;
    const outputs = `${name}_outputs`;
    this.definitions[inputs] = argumentsSchema(fragment.inputs, 'input', paramDoc(docs));
    this.definitions[outputs] = argumentsSchema(fragment.outputs, 'output', returnDoc(docs));
    const address = this.options.factory ? [addressParameter()] : [];
    const outputsResponse: SwaggerResponse = { description: docs?.return ?? 'successful response', schema: ref(outputs) };

    const get = this.operation({
      operationId: `${name}_get`,
      summary,
      description: docs?.details,
      // A GET is always an eth_call (§2.3 step 6); inputs come from the query, each required (FE buildGETPath).
      parameters: [...address, ...fragment.inputs.map((input, index) => queryInput(input, index, docs)), ...GET_PARAMETERS.map(parameterRef)],
      responses: { 200: outputsResponse },
    });
    const postResponses: Record<string, SwaggerResponse> = fragment.constant
      ? { 200: outputsResponse }
      : {
          200: { description: `Receipt of the mined transaction (sync); with the call parameter, the ${outputs} of an eth_call`, schema: ref('receipt') },
          202: { description: 'Transaction accepted; the receipt arrives at /replies/{id} (async)', schema: ref('asyncResponse') },
        };
    const post = this.operation({
      operationId: `${name}_post`,
      summary,
      description: docs?.details,
      consumes: CONSUMES,
      parameters: [...address, bodyParameter(inputs), ...postParameters({ privacyGroupId: this.options.privacyGroupId, deploy: false }).map(parameterRef)],
      responses: postResponses,
    });
    this.paths[this.options.factory ? `/{address}/${name}` : `/${name}`] = { get, post };
  }

  /**
   * Instance documents get `POST /<E>/subscribe` (`<E>_subscribe`). Factory documents get both
   * `POST /{address}/<E>/subscribe` and the all-addresses `POST /<E>/subscribe`. ethconnect's operationIds
   * look swapped there (the per-address one is `<E>_subscribe_all`, the all-addresses one `<E>_subscribe`,
   * FE abi2swagger.go buildEventPOSTPath, §2.5); they are kept as they are because generated clients
   * name their methods after them.
   */
  private addEvent(fragment: EventFragment): void {
    const { name } = fragment;
    const sig = signature(name, fragment.inputs);
    const docs = this.options.devdoc.events?.[sig];
    const eventDefinition = `${name}_event`;
    // The `data` of each delivered event (§2.6); keys named as outputs are.
    this.definitions[eventDefinition] = argumentsSchema(fragment.inputs, 'output', paramDoc(docs));
    const subscribe = (operationId: string, address: SwaggerParameter[]): SwaggerPathItem => ({
      post: this.operation({
        operationId,
        summary: `${sig} [event]`,
        description: docs?.details,
        consumes: CONSUMES,
        parameters: [
          ...address,
          {
            name: 'body',
            in: 'body',
            required: true,
            description: `Subscription configuration for the REST Gateway (events are delivered async over the stream, their data as ${eventDefinition})`,
            schema: subscribeRequestSchema,
          },
        ],
        responses: { 200: { description: 'The subscription', schema: ref('subscription') } },
      }),
    });
    if (this.options.factory) this.paths[`/{address}/${name}/subscribe`] = subscribe(`${name}_subscribe_all`, [addressParameter()]);
    this.paths[`/${name}/subscribe`] = subscribe(`${name}_subscribe`, []);
  }

  /** Adds produces, the error default and (unless noauth) the app credential requirement. */
  private operation(op: Omit<SwaggerOperation, 'produces' | 'security'>): SwaggerOperation {
    const result: SwaggerOperation = { ...op, produces: PRODUCES, responses: { ...op.responses, default: errorResponse } };
    if (!op.description) delete result.description;
    if (this.options.security) result.security = [{ [this.options.security]: [] } satisfies SecurityRequirement];
    return result;
  }
}

function addressParameter(): SwaggerSimpleParameter {
  return { name: 'address', in: 'path', required: true, type: 'string', pattern: ADDRESS_PATTERN, description: 'The contract address' };
}

function bodyParameter(definition: string): SwaggerParameter {
  return { name: 'body', in: 'body', required: true, schema: ref(definition) };
}

function queryInput(input: ParamType, index: number, docs: MemberDoc | undefined): SwaggerSimpleParameter {
  // Query values are always strings; arrays and tuples cannot be given this way (§3.1) but ethconnect
  // still lists them, so a GET of such a method fails with a conversion error rather than a missing one.
  const { description } = argumentSchema(input, 'input', docs?.params?.[input.name]);
  return { name: argumentName(input.name, index, 'input'), in: 'query', required: true, type: 'string', description };
}

function paramDoc(docs: MemberDoc | undefined): (name: string) => string | undefined {
  return (name) => (name ? docs?.params?.[name] : undefined);
}

function returnDoc(docs: MemberDoc | undefined): (name: string, index: number) => string | undefined {
  return (name, index) => docs?.returns?.[name || `_${index}`];
}
