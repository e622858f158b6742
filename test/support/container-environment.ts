// The environment a ringkv container gets in Kubernetes, computed from the repository's
// own files: the image's ENV lines (deploy/Dockerfile) overlaid with the StatefulSet's env
// list (deploy/k8s/statefulset.yaml), its downward-API fields filled in for one pod and
// its $(VAR) references expanded the way the kubelet does. Paths under the pod's volume
// mounts are moved to folders the test provides, so a process on this machine sees the
// same settings with files where it can read them.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const deployDir = join(repositoryRoot, 'deploy');

interface EnvEntry {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

interface Container {
  env?: EnvEntry[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  args?: string[];
}

/** Every document of a YAML file under deploy/, as plain objects. */
export function readYamlDocuments(pathInDeploy: string): Array<Record<string, unknown>> {
  return parseAllDocuments(readFileSync(join(deployDir, pathInDeploy), 'utf8'), { merge: true }).map((document) => {
    if (document.errors.length > 0) throw new Error(`deploy/${pathInDeploy}: ${document.errors.map((error) => error.message).join('; ')}`);
    return document.toJS() as Record<string, unknown>;
  });
}

export function readYaml(pathInDeploy: string): Record<string, unknown> {
  // Compose files use YAML merge keys (<<: *anchor), as Docker Compose reads them.
  return parse(readFileSync(join(deployDir, pathInDeploy), 'utf8'), { merge: true }) as Record<string, unknown>;
}

/** The `ENV` settings of the Dockerfile's last stage (the runtime image), in order. */
export function dockerfileEnvironment(dockerfileText: string): Record<string, string> {
  const stages = dockerfileText.replace(/\\\n/g, ' ').split('\n').filter((line) => !line.trimStart().startsWith('#'));
  const lastFrom = stages.map((line) => /^\s*FROM\s/i.test(line)).lastIndexOf(true);
  const environment: Record<string, string> = {};
  for (const line of stages.slice(lastFrom)) {
    const match = /^\s*ENV\s+(.*)$/i.exec(line);
    if (!match) continue;
    for (const pair of (match[1] as string).trim().split(/\s+/)) {
      const equals = pair.indexOf('=');
      if (equals <= 0) throw new Error(`deploy/Dockerfile: ENV "${pair}" is not NAME=value (the legacy "ENV NAME value" form is not read here)`);
      environment[pair.slice(0, equals)] = pair.slice(equals + 1);
    }
  }
  return environment;
}

/** $(VAR) expanded from the variables defined so far; $$ is a literal $, unknown references stay as written (kubelet's rules). */
export function expandKubernetesReferences(value: string, defined: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && defined[name] !== undefined ? defined[name] : whole;
  });
}

export function statefulSetContainer(): Container {
  const [statefulSet] = readYamlDocuments('k8s/statefulset.yaml') as Array<{ spec: { template: { spec: { containers: Container[] } } } }>;
  const container = statefulSet?.spec.template.spec.containers[0];
  if (container === undefined) throw new Error('deploy/k8s/statefulset.yaml has no container');
  return container;
}

export interface PodIdentity {
  name: string;
  namespace: string;
}

/**
 * The container's environment for one pod. `mountedAt` maps each volume name of the pod to
 * a folder here; values that start with that volume's mountPath are moved under it.
 */
export function podEnvironment(pod: PodIdentity, mountedAt: Readonly<Record<string, string>>): Record<string, string> {
  const dockerfile = readFileSync(join(deployDir, 'Dockerfile'), 'utf8');
  const container = statefulSetContainer();
  const fields: Record<string, string> = { 'metadata.name': pod.name, 'metadata.namespace': pod.namespace };
  const fromManifest: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    const fieldPath = entry.valueFrom?.fieldRef?.fieldPath;
    if (fieldPath !== undefined) {
      const value = fields[fieldPath];
      if (value === undefined) throw new Error(`env ${entry.name}: the test does not know the downward-API field ${fieldPath}`);
      fromManifest[entry.name] = value;
    } else {
      fromManifest[entry.name] = expandKubernetesReferences(entry.value ?? '', fromManifest);
    }
  }
  const environment = { ...dockerfileEnvironment(dockerfile), ...fromManifest };
  const mounts = container.volumeMounts ?? [];
  for (const [name, value] of Object.entries(environment)) {
    for (const mount of mounts) {
      const local = mountedAt[mount.name];
      if (local === undefined) continue;
      if (value === mount.mountPath || value.startsWith(`${mount.mountPath}/`)) environment[name] = local + value.slice(mount.mountPath.length);
    }
  }
  return environment;
}
