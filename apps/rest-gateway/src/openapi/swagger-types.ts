/**
 * The subset of Swagger 2.0 (https://swagger.io/specification/v2/) the generator emits. Declared here rather
 * than taken from `openapi-types`, which is only a transitive dependency of the test-time validator.
 */

export interface SwaggerSchema {
  type?: 'string' | 'boolean' | 'integer' | 'number' | 'object' | 'array';
  description?: string;
  pattern?: string;
  format?: string;
  default?: unknown;
  enum?: readonly unknown[];
  items?: SwaggerSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, SwaggerSchema>;
  required?: string[];
  additionalProperties?: boolean | SwaggerSchema;
  $ref?: string;
}

/** A non-body parameter (query, header or path): a "simple schema" inline, never a `$ref` schema. */
export interface SwaggerSimpleParameter {
  name: string;
  in: 'query' | 'header' | 'path';
  description?: string;
  required?: boolean;
  type: 'string' | 'boolean' | 'integer';
  pattern?: string;
  default?: unknown;
  allowEmptyValue?: boolean;
}

export interface SwaggerBodyParameter {
  name: string;
  in: 'body';
  description?: string;
  required?: boolean;
  schema: SwaggerSchema;
}

export type SwaggerParameter = SwaggerSimpleParameter | SwaggerBodyParameter;
export interface SwaggerRef {
  $ref: string;
}

export interface SwaggerResponse {
  description: string;
  schema?: SwaggerSchema;
}

export type SecurityRequirement = Record<string, string[]>;

export interface SwaggerOperation {
  operationId: string;
  summary: string;
  description?: string;
  consumes?: string[];
  produces?: string[];
  parameters: (SwaggerParameter | SwaggerRef)[];
  responses: Record<string, SwaggerResponse>;
  security?: SecurityRequirement[];
}

export interface SwaggerPathItem {
  get?: SwaggerOperation;
  post?: SwaggerOperation;
}

export interface SwaggerInfo {
  title: string;
  version: string;
  description?: string;
  /** `x-<long>-deployment-id`, `x-<long>-registered-name` (research §2.5). */
  [extension: `x-${string}`]: string | undefined;
}

export interface SwaggerDocument {
  swagger: '2.0';
  info: SwaggerInfo;
  host?: string;
  basePath: string;
  schemes: string[];
  consumes: string[];
  produces: string[];
  paths: Record<string, SwaggerPathItem>;
  definitions: Record<string, SwaggerSchema>;
  parameters: Record<string, SwaggerSimpleParameter>;
  securityDefinitions?: Record<string, { type: 'basic'; description?: string }>;
}
