export { createGateway } from './gateway';
export type { GatewayOptions, GatewayHandle } from './gateway';
export { readGatewayConfig, subgraphUrlVariable, LOG_LEVELS } from './config';
export type { GatewayConfig, GatewayConfigOverrides, GatewayEnv, LogLevel, SupergraphSource } from './config';
export type { GatewayContext } from './subgraph-data-source';
export { createJwtVerifier, TokenRejected } from './auth/jwt-verifier';
export type { JwtVerifier, JwtVerifierOptions } from './auth/jwt-verifier';
export { createJwksKeyStore, parseJwks } from './auth/jwks';
export type { JwksKeyStore, JwksKeyStoreOptions, JwksSource, SigningKey } from './auth/jwks';
export {
  analyzeOperation,
  checkBatch,
  checkOperationLimits,
  checkTokenLimit,
  countTokens,
  createOperationLimitsPlugin,
  MAX_ANALYSED_DEPTH,
} from './limits';
export type { OperationAnalysis, OperationLimits, OperationLimitsOptions } from './limits';
