// The acceptor's Paxos state per key (cluster/paxos.ts in @ringkv/core), kept in the LMDB
// environment's meta database under `paxos:<key>`, written (and committed) before the
// acceptor answers: a promise or an acceptance that a restart forgot could let two
// proposals be chosen.
import type { AcceptedProposal, Ballot, PaxosState, PaxosStore, RememberedWrite } from '@ringkv/core';
import type { LmdbEngine } from './lmdb-engine.js';
import { recordToRow, rowToRecord, type RecordRow } from './record-rows.js';

type BallotRow = [number, string];
/** An idempotent write: its Idempotency-Key, request digest, and version. */
type RememberedRow = [string, string, number, string];
/** Rows written before idempotent writes existed have no `accepted[2]`, `committedTags` or `remembered`. */
interface PaxosRow {
  promised: BallotRow | null;
  accepted: [BallotRow, RecordRow] | [BallotRow, RecordRow, RememberedRow[]] | null;
  committed: BallotRow | null;
  committedTags?: RememberedRow[];
  remembered?: RememberedRow[];
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
  const { accepted, committedTags, remembered } = state;
  const row: PaxosRow = {
    promised: ballotRow(state.promised),
    accepted:
      accepted === null
        ? null
        : accepted.tags === undefined || accepted.tags.length === 0
          ? [ballotRow(accepted.ballot) as BallotRow, recordToRow(accepted.record)]
          : [ballotRow(accepted.ballot) as BallotRow, recordToRow(accepted.record), accepted.tags.map(rememberedRow)],
    committed: ballotRow(state.committed),
  };
  if (committedTags !== undefined && committedTags.length > 0) row.committedTags = committedTags.map(rememberedRow);
  if (remembered !== undefined && remembered.length > 0) row.remembered = remembered.map(rememberedRow);
  return row;
}

function stateOf(row: PaxosRow): PaxosState {
  const state: PaxosState = {
    promised: ballotOf(row.promised),
    accepted: row.accepted === null ? null : acceptedOf(row.accepted),
    committed: ballotOf(row.committed),
  };
  if (row.committedTags !== undefined) state.committedTags = row.committedTags.map(rememberedOf);
  if (row.remembered !== undefined) state.remembered = row.remembered.map(rememberedOf);
  return state;
}

function acceptedOf(row: NonNullable<PaxosRow['accepted']>): AcceptedProposal {
  const proposal: AcceptedProposal = { ballot: ballotOf(row[0]) as Ballot, record: rowToRecord(row[1]) };
  if (row[2] !== undefined) proposal.tags = row[2].map(rememberedOf);
  return proposal;
}

function rememberedRow(write: RememberedWrite): RememberedRow {
  return [write.key, write.fingerprint, write.hlc, write.nodeId];
}

function rememberedOf([key, fingerprint, hlc, nodeId]: RememberedRow): RememberedWrite {
  return { key, fingerprint, hlc, nodeId };
}

function ballotRow(ballot: Ballot | null): BallotRow | null {
  return ballot === null ? null : [ballot.hlc, ballot.nodeId];
}

function ballotOf(row: BallotRow | null): Ballot | null {
  return row === null ? null : { hlc: row[0], nodeId: row[1] };
}
