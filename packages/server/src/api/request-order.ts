// Requests on one HTTP/1.1 connection take effect in the order they were sent
// (docs/security.md, "Limits before authentication"). Node parses pipelined requests as they arrive and hands
// each to Fastify at once, so a PUT then a DELETE of one key sent together ran side by side
// and the DELETE could take the smaller version, leaving the key alive. Node already writes
// the answers in order; this makes each request wait for the one before it on its socket.
// The key-read fast path (key-read-fast-path.ts) takes the same turns.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Whose turn it is on one connection. */
interface ConnectionTurn {
  busy: boolean;
  /** Continuations of the requests queued behind the current one, oldest first. */
  waiting: Array<() => void>;
}

/** The turns of every connection: one request at a time on each. */
export class ConnectionTurns {
  private readonly turns = new WeakMap<Socket, ConnectionTurn>();

  /**
   * Runs `start` once every request sent before this one on `socket` has been answered
   * (at once when none is pending). `response`'s 'close' (its answer written, or the
   * connection dead under it) passes the turn on. `released` runs at that 'close' too,
   * if `start` ran.
   */
  take(socket: Socket, response: ServerResponse, start: () => void, released?: () => void): void {
    const current = this.turnOf(socket);
    let holding = false;
    const begin = () => {
      holding = true;
      start();
    };
    response.once('close', () => {
      if (!holding) {
        const index = current.waiting.indexOf(begin);
        if (index >= 0) current.waiting.splice(index, 1);
        return;
      }
      released?.();
      const next = current.waiting.shift();
      if (next === undefined) current.busy = false;
      else next();
    });
    if (current.busy) {
      current.waiting.push(begin);
      return;
    }
    current.busy = true;
    begin();
  }

  /** Whether a request on `socket` would run at once. */
  isFree(socket: Socket): boolean {
    return this.turns.get(socket)?.busy !== true;
  }

  private turnOf(socket: Socket): ConnectionTurn {
    let turn = this.turns.get(socket);
    if (turn === undefined) {
      const created: ConnectionTurn = { busy: false, waiting: [] };
      turn = created;
      this.turns.set(socket, created);
      // Requests still queued when the client goes away are never run: nobody can read
      // their answers, and their continuations should not outlive the socket.
      socket.once('close', () => (created.waiting.length = 0));
    }
    return turn;
  }
}

export function orderRequestsPerConnection(app: FastifyInstance, turns: ConnectionTurns): void {
  app.addHook('onRequest', (request, reply, done) => turns.take(request.raw.socket, reply.raw, done));
}
