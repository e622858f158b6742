// Starts three real nodes the way deploy/k8s/statefulset.yaml does — settings only from the
// environment the image and the manifest give a pod, seeds and advertised addresses as the
// pods' DNS names, TLS certificates chosen by pod name, a token file and a cluster secret —
// each node in its own network namespace whose /etc/hosts resolves those names, and checks
// that the cluster forms and that a quorum write through one node is read from another.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RingkvClient } from '@ringkv/client';
import { createCertificates, createToken, ensureClusterSecretFile, fetchTrusting } from '@ringkv/server';
import { createNamespaceNetwork, namespacesUnavailableReason, type ChaosNetwork } from './support/chaos-network.js';
import { freePorts, waitFor } from './support/cluster.js';
import { podEnvironment, readYaml, repositoryRoot } from './support/container-environment.js';

const cliPath = join(repositoryRoot, 'packages', 'server', 'dist', 'cli.js');
const podNames = ['ringkv-0', 'ringkv-1', 'ringkv-2'];
const namespace = (readYaml('k8s/kustomization.yaml') as { namespace: string }).namespace;
/** The pods' DNS names under the headless Service, as RINGKV_ADVERTISE and RINGKV_SEEDS in the manifest spell them. */
const podDnsName = (pod: string) => `${pod}.ringkv-peers.${namespace}.svc.cluster.local`;
const clusterFormsWithinMs = 60_000;

interface RunningPod {
  name: string;
  url: string;
  process: ChildProcess;
  output: string;
}

describe('three nodes configured like the Kubernetes pods', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'ringkv-env-cluster-'));
  const hostsDirs: string[] = [];
  const pods: RunningPod[] = [];
  let network: ChaosNetwork | undefined;
  let client: (index: number) => RingkvClient;

  before(async () => {
    const unavailable = await namespacesUnavailableReason();
    if (unavailable === undefined) network = await createNamespaceNetwork(podNames.length);
    else console.log(`env-cluster: network namespaces cannot be made here (${unavailable}); falling back to loopback 127.0.0.2-4 with IP seeds: host-name resolution is not exercised`);
    const addresses = podNames.map((_, index) => (network ? network.hostOf(index) : `127.0.0.${2 + index}`));
    const loopbackPorts = network ? [] : await freePorts(podNames.length);

    // The Secrets' files, made with the commands docs/deploy.md gives.
    const clusterDir = join(workDir, 'secret-cluster');
    const tlsDir = join(workDir, 'secret-tls');
    mkdirSync(clusterDir);
    ensureClusterSecretFile(join(clusterDir, 'cluster-secret'));
    const { token } = createToken(join(clusterDir, 'auth.json'), { role: 'admin', name: 'ops' }, Date.now());
    createCertificates({ outDir: tlsDir, nodeIds: podNames, hosts: [`*.ringkv-peers.${namespace}.svc.cluster.local`, ...addresses, 'localhost'], days: 2 });
    const caPem = readFileSync(join(tlsDir, 'ca.pem'), 'utf8');

    for (const [index, pod] of podNames.entries()) {
      const dataDir = join(workDir, `data-${pod}`);
      mkdirSync(dataDir);
      const environment = podEnvironment({ name: pod, namespace }, { data: dataDir, cluster: clusterDir, tls: tlsDir, tmp: workDir });
      let url = `https://${addresses[index]}:${environment.RINGKV_PORT}`;
      let command = { file: process.execPath, args: [cliPath, 'node'] };
      if (network) {
        // `ip netns exec NS` bind-mounts /etc/netns/NS/hosts over /etc/hosts for the command:
        // this pod resolves every pod's DNS name to its namespace's address, as cluster DNS would.
        command = network.commandFor(index, [process.execPath, cliPath, 'node']);
        const namespaceName = command.args[2] as string;
        assert.deepEqual(command.args.slice(0, 2), ['netns', 'exec']);
        const hostsDir = join('/etc/netns', namespaceName);
        mkdirSync(hostsDir, { recursive: true });
        hostsDirs.push(hostsDir);
        writeFileSync(join(hostsDir, 'hosts'), ['127.0.0.1 localhost', ...podNames.map((name, other) => `${addresses[other]} ${podDnsName(name)} ${name}`)].join('\n') + '\n');
      } else {
        const port = String(loopbackPorts[index]);
        Object.assign(environment, {
          RINGKV_HOST: addresses[index],
          RINGKV_ADVERTISE: addresses[index],
          RINGKV_PORT: port,
          RINGKV_SEEDS: addresses.map((address, other) => `${address}:${loopbackPorts[other]}`).join(','),
        });
        url = `https://${addresses[index]}:${port}`;
      }
      // Only the pod's environment (plus PATH for the runtime): nothing from this test's own.
      const child = spawn(command.file, command.args, { env: { PATH: process.env.PATH, ...environment }, stdio: ['ignore', 'pipe', 'pipe'] });
      const running: RunningPod = { name: pod, url, process: child, output: '' };
      child.stdout?.on('data', (chunk: Buffer) => (running.output = (running.output + chunk.toString()).slice(-8000)));
      child.stderr?.on('data', (chunk: Buffer) => (running.output = (running.output + chunk.toString()).slice(-8000)));
      pods.push(running);
    }
    const trustingFetch = fetchTrusting(caPem);
    client = (index) => new RingkvClient({ baseUrl: pods[index]!.url, token, timeoutMs: 5000, fetch: trustingFetch });
  });

  after(async () => {
    await Promise.all(
      pods.map(async (pod) => {
        if (pod.process.exitCode !== null || pod.process.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => pod.process.once('exit', () => resolve()));
        pod.process.kill('SIGTERM');
        const timer = setTimeout(() => pod.process.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await network?.destroy();
    for (const dir of hostsDirs) rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });

  const outputs = () => pods.map((pod) => `--- ${pod.name} (exit ${pod.process.exitCode ?? pod.process.signalCode ?? 'running'}):\n${pod.output}`).join('\n');

  it('forms one cluster of three members, each seeing the others up under their advertised names', async () => {
    try {
      await waitFor(async () => {
        for (const pod of pods) if (pod.process.exitCode !== null) throw new Error(`${pod.name} exited`);
        const views = await Promise.all(pods.map((_, index) => client(index).cluster()));
        return views.every((view) => view.members.filter((member) => member.state === 'up').length === podNames.length && !view.rebalancing);
      }, clusterFormsWithinMs);
    } catch (error) {
      assert.fail(`the cluster did not form within ${clusterFormsWithinMs} ms: ${(error as Error).message}\n${outputs()}`);
    }
    const view = await client(0).cluster();
    assert.deepEqual(view.members.map((member) => member.nodeId).sort(), podNames);
    if (network) for (const member of view.members) assert.equal(member.address, `${podDnsName(member.nodeId)}:8000`, 'each node advertises its pod DNS name');
  });

  it('takes a quorum write through one node and serves it from another', async () => {
    const receipt = await client(0).put('deploy/env-cluster', { from: 'ringkv-0' }, 'quorum');
    assert.ok(receipt.acks >= 2, `a quorum of 3 is 2 acknowledgements, got ${receipt.acks}`);
    const read = await client(2).get('deploy/env-cluster', 'quorum');
    assert.deepEqual(read?.value, { from: 'ringkv-0' }, outputs());
  });
});

