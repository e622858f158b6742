// The acceptor's Paxos state per key (cluster/paxos.ts in @ringkv/core), kept in the LMDB
// environment's meta database under `paxos:<key>`, written (and committed) before the
// acceptor answers: a promise or an acceptance that a restart forgot could let two
// proposals be chosen.
import type { Ballot, PaxosState, PaxosStore } from '@ringkv/core';
import type { LmdbEngine } from './lmdb-engine.js';
import { recordToRow, rowToRecord, type RecordRow } from './record-rows.js';

type BallotRow = [number, string];
interface PaxosRow {
  promised: BallotRow | null;
  accepted: [BallotRow, RecordRow] | null;
  committed: BallotRow | null;
}

const prefix = 'paxos:';

export function lmdbPaxosStore(lmdb: Pick<LmdbEngine, 'readMeta' | 'writeMeta'>): PaxosStore {
  return {
    get: async (key) => {
      const row = lmdb.readMeta(prefix + key) as PaxosRow | undefined;
      return row === undefined ? undefined : stateOf(row);
    },
    put: async (key, state) => {
      await lmdb.writeMeta(prefix + key, rowOf(state));
    },
  };
}

function rowOf(state: PaxosState): PaxosRow {
  return {
    promised: ballotRow(state.promised),
    accepted: state.accepted === null ? null : [ballotRow(state.accepted.ballot) as BallotRow, recordToRow(state.accepted.record)],
    committed: ballotRow(state.committed),
  };
}

function stateOf(row: PaxosRow): PaxosState {
  return {
    promised: ballotOf(row.promised),
    accepted: row.accepted === null ? null : { ballot: ballotOf(row.accepted[0]) as Ballot, record: rowToRecord(row.accepted[1]) },
    committed: ballotOf(row.committed),
  };
}

function ballotRow(ballot: Ballot | null): BallotRow | null {
  return ballot === null ? null : [ballot.hlc, ballot.nodeId];
}

function ballotOf(row: BallotRow | null): Ballot | null {
  return row === null ? null : { hlc: row[0], nodeId: row[1] };
}
