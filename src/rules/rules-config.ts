import type { FlagsSectionConfig, RouteFlagConfig } from '../flags/flags-config.js';
import type { RouteMode, ShadowConfig } from '../shadow/shadow-config.js';

/**
 * What the user wrote in a rules file, after schema validation. Optional fields stay optional here;
 * defaults are applied when compiling into the RouteTable (see route-table.ts), never on the hot path.
 */
export interface UpstreamConfig {
  url: string;
  timeout?: string | number;
  connectTimeout?: string | number;
  headersTimeout?: string | number;
  bodyTimeout?: string | number;
  pool?: number;
  host?: 'preserve' | 'upstream';
  breaker?: { failures?: number; cooldown?: string | number };
}

export interface HeaderOps {
  set?: Record<string, string>;
  remove?: string[];
}

export interface MatchConfig {
  path?: string;
  methods?: string[];
  host?: string;
  headers?: Record<string, string>;
}

export interface SplitConfig {
  to: string;
  weight: number;
}

export interface RewriteConfig {
  stripPrefix?: string;
  addPrefix?: string;
}

export interface RouteConfig {
  name: string;
  match?: MatchConfig;
  to?: string;
  split?: SplitConfig[];
  sticky?: string;
  priority?: number;
  fallback?: string;
  /** the monolith's upstream for migration modes (default: the rules' `default`) */
  legacy?: string;
  mode?: RouteMode;
  flag?: RouteFlagConfig;
  shadow?: ShadowConfig;
  rewrite?: RewriteConfig;
  headers?: { request?: HeaderOps; response?: HeaderOps };
}

export interface ProxySettingsConfig {
  trustForwarded?: boolean;
  forwardedHeaders?: 'x-forwarded' | 'forwarded' | 'both' | 'none';
  requestIdHeader?: string;
  drainTimeout?: string | number;
}

export interface RuleSetConfig {
  version: 1;
  upstreams: Record<string, UpstreamConfig>;
  routes?: RouteConfig[];
  default?: string;
  proxy?: ProxySettingsConfig;
  flags?: FlagsSectionConfig;
}
