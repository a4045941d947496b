export { buildSwagger, appCredentialName, type BuildSwaggerOptions, type SolidityDevdoc, type MemberDoc } from './build-swagger';
export { KALEIDO_PREFIX, FIREFLY_PREFIX, type SwaggerPrefix } from './common-parameters';
export { argumentName, signature } from './abi-schema';
export { renderExerciser, escapeHtml, type ExerciserOptions } from './exerciser';
export { swaggerUiAsset, swaggerUiAssetNames, EXERCISER_SCRIPT, type StaticAsset } from './swagger-ui-assets';
export type { SwaggerDocument } from './swagger-types';
