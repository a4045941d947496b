export { parseAbiUpload, DEFAULT_MAX_UPLOAD_FILES, type AbiUpload, type UploadResult, type UploadLimits } from './parse-abi-upload';
export { compileSolidity, listContracts, BUNDLED_SOLC_VERSION, EVM_VERSIONS, type CompileOptions, type CompiledContract } from './compile-solidity';
