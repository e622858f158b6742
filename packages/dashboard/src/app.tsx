// ringkv's operator console: asks for a token when the node wants one, then one page
// polling the serving node for the cluster's view, showing only what the token may do.
import { useMemo } from 'react';
import { jobsPollMs, nodesPollMs, ringPollMs } from './cluster-client';
import { ChangesPanel } from './components/changes-panel';
import { ClusterOverview } from './components/cluster-overview';
import { DataMovement } from './components/data-movement';
import { KeyDistributionChart } from './components/key-distribution-chart';
import { KeyExplorer } from './components/key-explorer';
import { PageHeader } from './components/page-header';
import { ReplicationTable } from './components/replication-table';
import { RingView } from './components/ring-view';
import { SecurityBanner } from './components/security-banner';
import { SignInForm } from './components/sign-in-form';
import { ErrorMessage, LoadingMessage } from './components/state-message';
import { TrafficCharts } from './components/traffic-charts';
import { usePolling } from './hooks/use-polling';
import { useSession } from './hooks/use-session';
import { permissionsOf } from './lib/access';
import { assignNodeColors, sortNodeIds } from './lib/node-colors';
import { SessionContext, useDashboardSession, type DashboardSession } from './session-context';

export function App() {
  const { state, signIn, signOut, recheck } = useSession();
  const session = useMemo<DashboardSession | null>(
    () => (state.kind === 'signed-in' ? { api: state.api, identity: state.identity, permissions: permissionsOf(state.identity.role), signOut } : null),
    [state, signOut],
  );

  if (session !== null) {
    return (
      <SessionContext.Provider value={session}>
        <Dashboard />
      </SessionContext.Provider>
    );
  }
  if (state.kind === 'signed-out') return <SignInForm reason={state.reason} onSignIn={signIn} />;
  return (
    <main className="gate" data-testid="connecting">
      <h1>
        ringkv <span className="page-subtitle">operator console</span>
      </h1>
      {state.kind === 'unreachable' ? (
        <>
          <ErrorMessage testId="connect-error">Could not ask the node who you are: {state.message}</ErrorMessage>
          <button type="button" onClick={recheck}>
            Try again
          </button>
        </>
      ) : (
        <LoadingMessage>Connecting to the node…</LoadingMessage>
      )}
    </main>
  );
}

function Dashboard() {
  const { api } = useDashboardSession();
  const nodes = usePolling(api.loadClusterNodes, nodesPollMs);
  const ring = usePolling(api.loadRing, ringPollMs);
  const jobs = usePolling(api.loadClusterJobs, jobsPollMs);

  // Colours come from every node id either view mentions; the joined id list keeps the
  // map's identity stable between polls so charts do not redraw for nothing.
  const nodeIdList = sortNodeIds([
    ...(nodes.data?.nodes.map((node) => node.nodeId) ?? []),
    ...(ring.data?.ranges.flatMap((range) => range.replicas) ?? []),
  ]).join('\n');
  const colors = useMemo(() => assignNodeColors(nodeIdList === '' ? [] : nodeIdList.split('\n')), [nodeIdList]);

  return (
    <>
      <a className="skip-link" href="#explorer">
        Skip to the key explorer
      </a>
      <PageHeader nodes={nodes} />
      <main className="page">
        {nodes.data !== null && <SecurityBanner view={nodes.data} />}
        <ClusterOverview nodes={nodes} colors={colors} />
        <div className="two-columns">
          <RingView ring={ring} colors={colors} />
          <KeyDistributionChart nodes={nodes} colors={colors} />
        </div>
        <ReplicationTable nodes={nodes} colors={colors} />
        <DataMovement jobs={jobs} nodes={nodes} colors={colors} />
        <TrafficCharts nodes={nodes} colors={colors} />
        <KeyExplorer colors={colors} servingNode={nodes.data?.gatheredBy ?? null} />
        <ChangesPanel servingNode={nodes.data?.gatheredBy ?? null} />
      </main>
    </>
  );
}
