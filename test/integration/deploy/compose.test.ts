import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCdcConfig } from '../../../src/cdc/config/load-cdc-config.js';
import { formatProblems } from '../../../src/config/problems.js';
import { STAGES } from '../../../examples/demo/stage-files.js';
import { runCli } from '../../helpers/cli-process.js';
import type { ComposeService, Dockerfile } from './compose-model.js';
import { commandModule, effectiveArgv, envReadBy, hostPathOf, optionValue, readCompose, readDockerfile, sourceOf } from './compose-model.js';

/**
 * docker-compose.yml against the repository (no Docker engine runs here, issue 6): images and
 * builds exist, every program is a real ficus command or example entry, every config file it is
 * given exists and loads, ports and host names agree across the compose file and the configs, every
 * environment variable a program reads is set (and none is set for nothing), and start-up order
 * waits for health. Expectations come from the repository's files, not from lists in this test.
 */
const root = fileURLToPath(new URL('../../..', import.meta.url));
const services = readCompose(join(root, 'docker-compose.yml'));
const FICUS_CLI = 'dist/src/cli/main.js';
/** Variables node itself reads, whatever the program. */
const NODE_READS = new Set(['NODE_OPTIONS']);

const dockerfileOf = (s: ComposeService): Dockerfile | null => (s.build ? readDockerfile(join(s.build.context, s.build.dockerfile)) : null);
const argvOf = (s: ComposeService) => effectiveArgv(s, dockerfileOf(s));
const built = [...services.values()].filter((s) => s.build !== null);
const ficusServices = built.filter((s) => argvOf(s)[1] === FICUS_CLI);
const withOption = (opt: string) => ficusServices.filter((s) => optionValue(argvOf(s), opt) !== null);

/** A config file a ficus service is given (`--rules`, `--config`), resolved to the repository. */
function configFile(s: ComposeService, opt: string): { path: string; mounted: boolean } {
  return hostPathOf(s, dockerfileOf(s)!.workdir, root, optionValue(argvOf(s), opt)!);
}

interface Listener {
  readonly port: number;
  readonly via: string;
}

/** The ports a service listens on inside the network, read from its own configuration. */
function listeners(s: ComposeService): Listener[] {
  const argv = s.build ? argvOf(s) : [];
  if (s.build && argv[1] === FICUS_CLI) {
    const out: Listener[] = [];
    for (const opt of ['--port', '--admin-port']) {
      const v = optionValue(argv, opt);
      if (v !== null) out.push({ port: Number(v), via: opt });
    }
    return out;
  }
  if (s.build) return s.environment.PORT ? [{ port: Number(s.environment.PORT), via: 'PORT' }] : [];
  // Off-the-shelf images listen where their images document, unless configured otherwise.
  if (s.image!.startsWith('postgres:')) return [{ port: Number(s.environment.PGPORT ?? 5432), via: 'postgres' }];
  if (s.image!.startsWith('redis:')) return [{ port: 6379, via: 'redis' }];
  if (s.image!.includes('kafka')) {
    return [...(s.environment.KAFKA_ADVERTISED_LISTENERS ?? '').matchAll(/\/\/([^:,]+):(\d+)/g)].filter((m) => m[1] === s.name).map((m) => ({ port: Number(m[2]), via: 'advertised listener' }));
  }
  if (s.image!.startsWith('prom/prometheus')) return [{ port: 9090, via: 'prometheus' }];
  return [];
}

interface Reference {
  readonly from: string;
  readonly host: string;
  readonly port: number;
  readonly url: URL | null;
}

function urlRef(from: string, raw: string, defaultPort: number): Reference {
  const url = new URL(raw);
  return { from, host: url.hostname, port: Number(url.port || defaultPort), url };
}

/** Every other service a service talks to, from its environment and its config files. */
function references(s: ComposeService): Reference[] {
  const refs: Reference[] = [];
  if (s.environment.DATABASE_URL) refs.push(urlRef('DATABASE_URL', s.environment.DATABASE_URL, 5432));
  if (s.build && optionValue(argvOf(s), '--rules')) {
    const file = configFile(s, '--rules').path;
    const rules = parse(readFileSync(file, 'utf8')) as { upstreams: Record<string, { url: string }>; flags?: { redis?: { url: string } } };
    for (const [name, u] of Object.entries(rules.upstreams)) refs.push(urlRef(`${relative(root, file)} upstreams.${name}`, u.url, 80));
    if (rules.flags?.redis) refs.push(urlRef(`${relative(root, file)} flags.redis.url`, rules.flags.redis.url, 6379));
  }
  if (s.build && optionValue(argvOf(s), '--config')) {
    const file = configFile(s, '--config').path;
    const cdc = parse(readFileSync(file, 'utf8')) as { source: { url: string }; transport: { kind: string; url?: string; brokers?: string[] }; sinks: { name: string; url: string }[] };
    refs.push(urlRef(`${relative(root, file)} source.url`, cdc.source.url, 5432));
    for (const sink of cdc.sinks) refs.push(urlRef(`${relative(root, file)} sinks.${sink.name}.url`, sink.url, 5432));
    for (const b of cdc.transport.brokers ?? []) {
      const [host, port] = b.split(':');
      refs.push({ from: `${relative(root, file)} transport.brokers`, host, port: Number(port), url: null });
    }
    if (cdc.transport.url) refs.push(urlRef(`${relative(root, file)} transport.url`, cdc.transport.url, 6379));
  }
  for (const b of s.binds) {
    if (!b.host.endsWith('prometheus.yml')) continue;
    const prom = parse(readFileSync(b.host, 'utf8')) as { scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[] };
    for (const job of prom.scrape_configs) {
      for (const t of job.static_configs.flatMap((c) => c.targets)) {
        refs.push({ from: `${relative(root, b.host)} target ${t}`, host: t.split(':')[0], port: Number(t.split(':')[1]), url: new URL(`http://${t}${job.metrics_path ?? '/metrics'}`) });
      }
    }
  }
  return refs;
}

describe('docker-compose.yml is consistent with the repository', () => {
  it('has the services of the deployment', () => {
    const images = [...services.values()].map((s) => s.image ?? '');
    expect(images.filter((i) => i.startsWith('postgres:'))).toHaveLength(2);
    expect(images.some((i) => i.includes('kafka'))).toBe(true);
    expect(images.some((i) => i.startsWith('redis:'))).toBe(true);
    expect(images.some((i) => i.startsWith('prom/prometheus:'))).toBe(true);
    expect(ficusServices.map((s) => argvOf(s).slice(2, 4).join(' ')).sort()).toEqual(['cdc run', 'start --rules']);
  });

  it('every image is pinned to a tag; every build has its context, Dockerfile, COPY sources and entry script', () => {
    for (const s of services.values()) {
      if (s.build === null) {
        expect(s.image, s.name).toMatch(/^[\w./-]+:[\w.-]+$/);
        expect(s.image!.endsWith(':latest'), s.name).toBe(false);
        continue;
      }
      expect(existsSync(s.build.context), `${s.name} build context`).toBe(true);
      const df = dockerfileOf(s)!;
      expect(existsSync(df.path), `${s.name} Dockerfile ${df.path}`).toBe(true);
      expect(df.from.every((f) => /^node:20[\w.-]*(\s|$)/.test(f) || f.startsWith('node:20')), `${df.path} FROM ${df.from.join(', ')}`).toBe(true);
      for (const src of df.copySources) expect(existsSync(join(s.build.context, src)), `${df.path}: COPY ${src}`).toBe(true);
      expect(df.entrypoint).toEqual(['node', FICUS_CLI]);
    }
  });

  it('every program is a real entry: ficus commands answer --help and know every option used; example entries exist', async () => {
    for (const s of built) {
      const argv = argvOf(s);
      expect(argv[0], s.name).toBe('node');
      expect(existsSync(join(root, argv[1])), `${s.name}: ${argv[1]} (built by npm run build)`).toBe(true);
      expect(existsSync(sourceOf(root, argv[1])), `${s.name}: source of ${argv[1]}`).toBe(true);
      if (argv[1] !== FICUS_CLI) {
        expect(argv.slice(2), `${s.name}: example entries take no arguments`).toEqual([]);
        continue;
      }
      const args = argv.slice(2);
      const sub = args.slice(0, args.findIndex((a) => a.startsWith('-')));
      const help = await runCli([...sub, '--help']);
      expect(help.code, `${s.name}: ficus ${sub.join(' ')} --help\n${help.stderr}`).toBe(0);
      // commander answers an unknown command's --help with the top-level help, so check whose it is.
      expect(help.stdout, `${s.name}: "ficus ${sub.join(' ')}" is not a ficus command`).toContain(`Usage: ficus ${sub.join(' ')} [options]`);
      for (const opt of args.filter((a) => a.startsWith('--'))) expect(help.stdout, `${s.name}: ficus ${sub.join(' ')} has no option ${opt}`).toContain(opt);
    }
  });

  it('every environment variable a program reads is set, and none is set that no program reads', () => {
    for (const s of built) {
      const argv = argvOf(s);
      let entry = sourceOf(root, argv[1]);
      if (argv[1] === FICUS_CLI) {
        const module = commandModule(entry, argv[2]);
        expect(module, `${s.name}: no module of the ficus CLI defines the command "${argv[2]}"`).not.toBeNull();
        entry = module!;
      }
      const reads = envReadBy(entry);
      expect(reads.size, `${s.name}: no environment variables found in its sources`).toBeGreaterThan(0);
      const set = new Set(Object.keys(s.environment));
      expect([...reads].filter((v) => !set.has(v)), `${s.name}: read but not set`).toEqual([]);
      expect([...set].filter((v) => !reads.has(v) && !NODE_READS.has(v)), `${s.name}: set but never read`).toEqual([]);
    }
  });

  it('NODE_OPTIONS, where set, holds options this node accepts', () => {
    const withOptions = built.filter((s) => s.environment.NODE_OPTIONS !== undefined);
    expect(withOptions.map((s) => s.name)).toContain('ficus-cdc');
    for (const s of withOptions) {
      const run = spawnSync(process.execPath, ['-e', '0'], { env: { ...process.env, NODE_OPTIONS: s.environment.NODE_OPTIONS }, encoding: 'utf8' });
      expect(run.status, `${s.name}: node refuses NODE_OPTIONS="${s.environment.NODE_OPTIONS}": ${run.stderr}`).toBe(0);
    }
  });

  it('config files exist, are mounted, and load: rules pass ficus validate, the CDC config its loader', async () => {
    expect(withOption('--rules').length + withOption('--config').length).toBeGreaterThanOrEqual(2);
    for (const s of withOption('--rules')) {
      const f = configFile(s, '--rules');
      expect(f.mounted && existsSync(f.path), `${s.name}: ${f.path}`).toBe(true);
      // Relative paths inside (the flags file) resolve against the working directory: /app in the
      // image, the repository root here, where the mount puts the same files.
      const r = await runCli(['validate', relative(root, f.path)]);
      expect(`${r.stdout}${r.stderr}`, s.name).toContain(': ok');
      expect(r.code).toBe(0);
      const rules = parse(readFileSync(f.path, 'utf8')) as { flags?: { provider: string; launchdarkly?: { sdkKeyEnv?: string; file?: string } } };
      if (rules.flags?.provider === 'launchdarkly' && !rules.flags.launchdarkly?.file) {
        expect(s.environment[rules.flags.launchdarkly?.sdkKeyEnv ?? 'LD_SDK_KEY'], `${s.name}: LaunchDarkly SDK key`).toBeTruthy();
      }
    }
    for (const s of withOption('--config')) {
      const f = configFile(s, '--config');
      expect(f.mounted && existsSync(f.path), `${s.name}: ${f.path}`).toBe(true);
      const loaded = await loadCdcConfig(f.path);
      expect(loaded.ok ? '' : formatProblems(loaded.problems), s.name).toBe('');
    }
    for (const s of services.values()) for (const b of s.binds) expect(existsSync(b.host), `${s.name}: mount ${b.host}`).toBe(true);
  });

  it('ports agree: what each program listens on is what it publishes and health-checks', () => {
    for (const s of services.values()) {
      const own = listeners(s).map((l) => l.port);
      for (const p of s.ports) expect(own, `${s.name}: publishes container port ${p.container}`).toContain(p.container);
      const hcPort = s.healthcheck?.join(' ').match(/127\.0\.0\.1:(\d+)/)?.[1];
      if (hcPort) expect(own, `${s.name}: health check port`).toContain(Number(hcPort));
    }
    const published = [...services.values()].flatMap((s) => s.ports.map((p) => p.host));
    expect(new Set(published).size, 'host ports used twice').toBe(published.length);
  });

  it('every host a service talks to is a compose service listening there (database names, users, wal_level included)', () => {
    let checked = 0;
    for (const s of services.values()) {
      for (const ref of references(s)) {
        checked++;
        const target = services.get(ref.host);
        expect(target, `${s.name}: ${ref.from} names host "${ref.host}", which is not a service`).toBeDefined();
        expect(listeners(target!).map((l) => l.port), `${s.name}: ${ref.from} uses port ${ref.port} of ${ref.host}`).toContain(ref.port);
        if (ref.url?.protocol.startsWith('postgres')) {
          expect(ref.url.pathname.slice(1), `${s.name}: ${ref.from} database`).toBe(target!.environment.POSTGRES_DB);
          expect(decodeURIComponent(ref.url.username), `${s.name}: ${ref.from} user`).toBe(target!.environment.POSTGRES_USER ?? 'postgres');
          expect(decodeURIComponent(ref.url.password), `${s.name}: ${ref.from} password`).toBe(target!.environment.POSTGRES_PASSWORD);
          if (ref.from.endsWith('source.url')) expect(target!.command?.join(' '), `${ref.host} must run with wal_level=logical for CDC`).toMatch(/wal_level=logical/);
        }
        if (ref.from.includes('target ')) {
          const by = listeners(target!).find((l) => l.port === ref.port);
          expect(by?.via, `${ref.from}: Prometheus must scrape ficus's admin port`).toBe('--admin-port');
          expect(ref.url?.pathname).toBe('/metrics');
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('start-up waits for health: every service a program talks to is a service_healthy dependency with a health check', () => {
    const healthyDeps = (name: string, seen = new Set<string>()): Set<string> => {
      for (const [d, cond] of Object.entries(services.get(name)!.dependsOn)) {
        if (cond !== 'service_healthy' || seen.has(d)) continue;
        seen.add(d);
        healthyDeps(d, seen);
      }
      return seen;
    };
    for (const s of services.values()) {
      for (const d of Object.keys(s.dependsOn)) expect(services.get(d)?.healthcheck, `${s.name} depends on ${d}, which has no health check`).toBeTruthy();
      for (const ref of references(s)) expect([...healthyDeps(s.name)], `${s.name} talks to ${ref.host} (${ref.from}) without waiting for it`).toContain(ref.host);
    }
  });
});

describe('examples/deploy/rules', () => {
  const dir = join(root, 'examples/deploy/rules');
  const stageFiles = STAGES;
  const strip = (text: string) => {
    const d = parse(text) as { upstreams: Record<string, { url: string }>; flags?: unknown };
    for (const u of Object.values(d.upstreams)) u.url = '<url>';
    delete d.flags;
    return d;
  };

  it('each deployment stage is the repository stage with compose upstreams; the active rules are one of them; the flags files agree', () => {
    for (const stage of stageFiles) {
      expect(strip(readFileSync(join(dir, `${stage}.yaml`), 'utf8')), stage).toEqual(strip(readFileSync(join(root, 'rules', `${stage}.yaml`), 'utf8')));
    }
    const active = readFileSync(join(dir, 'ficus-rules.yaml'), 'utf8');
    expect(stageFiles.some((st) => readFileSync(join(dir, `${st}.yaml`), 'utf8') === active)).toBe(true);
    expect(parse(readFileSync(join(dir, 'users-flags.yaml'), 'utf8'))).toEqual(parse(readFileSync(join(root, 'rules/users-flags.yaml'), 'utf8')));
  });

  it('every deployment stage passes ficus validate', async () => {
    const r = await runCli(['validate', ...stageFiles.map((s) => `examples/deploy/rules/${s}.yaml`)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
