// The flags module's public surface, for the router, the rules schema, the CLI and the admin API.
export type { FlagContext, FlagProvider, FlagReason, FlagResult, MigrationMode, ProviderName } from './flag-provider.js';
export { MIGRATION_MODES, isMigrationMode, isPromise, variationToString } from './flag-provider.js';
export type { DecisionResult, FlagDecision, FlagDeciderDeps, RouteFlag } from './flag-decider.js';
export { FlagDecider, compileRouteFlag } from './flag-decider.js';
export type { FlagsSectionConfig, FlagsSettings, RouteFlagConfig } from './flags-config.js';
export { checkFlagsSection, checkRouteFlag, compileFlagsSection, flagsSectionSchema, routeFlagSchema } from './flags-config.js';
export type { FlagDeps, FlagRuntime } from './create-flag-provider.js';
export { createFlagProvider } from './create-flag-provider.js';
export type { FlagsFileConfig, LocalFlagConfig } from './local/flags-file-schema.js';
export { flagsFileSchema, loadFlagsFile, validateFlagsFile } from './local/flags-file-schema.js';
export type { CompiledFlag, FlagOverride, FlagSummary, LocalFlagModel } from './local/local-flag-model.js';
export { compileFlagsFile, describeFlags, evaluateLocal } from './local/local-flag-model.js';
export { LocalFlagProvider } from './local/local-flag-provider.js';
export type { FlagOverridePatch } from './local/redis-overrides.js';
export { DEFAULT_KEY_PREFIX, clearFlagOverride, listFlagOverrides, overridesChannel, overridesHashKey, parseFlagOverride, setFlagOverride } from './local/redis-overrides.js';
export { LaunchDarklyFlagProvider } from './launchdarkly/launchdarkly-flag-provider.js';
export { validateFlagFiles } from './validate-flag-files.js';
