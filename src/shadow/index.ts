// The shadowing engine's public API (issue 5). The forwarder decides with shouldShadow() when a
// request starts, keeps bounded copies, and calls submit() on a ShadowEngine after the primary
// response has been sent: a ShadowWorkerHost (a low-priority worker thread, the default) or a
// ShadowDispatcher on the main thread.
export { shadowSchema, checkShadowConfig, SHADOW_DEFAULTS, SHADOW_MODES } from './shadow-config.js';
export type { ShadowConfig, RouteMode } from './shadow-config.js';
export { compileShadowPolicy, shouldShadow, shadowRoles, endpointKey } from './shadow-policy.js';
export type { ShadowPolicy, ShadowDecision, ServiceLabel } from './shadow-policy.js';
export { ShadowDispatcher } from './shadow-dispatcher.js';
export type { ShadowExchange, SubmitResult, ShadowDispatcherOptions, ShadowEngine } from './shadow-dispatcher.js';
export { ShadowWorkerHost } from './worker/shadow-worker-host.js';
export type { ShadowWorkerHostOptions } from './worker/shadow-worker-host.js';
export { SHADOW_HEADER, shadowRequestHeaders } from './candidate-client.js';
export { createShadowMetrics } from './shadow-metrics.js';
export type { ShadowMetrics, ComparisonResult } from './shadow-metrics.js';
export { compareResponses } from './compare/compare-responses.js';
export type { DiffEntry } from './compare/diff-entry.js';
export { MemoryRecorder } from './record/memory-recorder.js';
export { PgRecorder } from './record/pg-recorder.js';
export { migrateShadowStore, shadowMigrationSource, SHADOW_MIGRATIONS_TABLE } from './record/shadow-migrations.js';
export type { ShadowRecorder, MismatchSample, EndpointSnapshot } from './record/shadow-record.js';
export { NOISE_THRESHOLDS } from './noise/noise-model.js';
export { buildShadowReport } from './report/build-report.js';
export type { ShadowReport, RouteReport, EndpointReport, FieldReport } from './report/build-report.js';
export { renderShadowReport } from './report/render-report.js';
export { shadowReportRouter } from './report/report-router.js';
export { registerShadowCommands, fetchShadowReport } from './report/shadow-commands.js';
export { BoundedCopy } from './bounded-copy.js';
export { createEventLoopProbe } from './load-probe.js';
export type { LoadProbe } from './load-probe.js';
