// Requests on one HTTP/1.1 connection take effect in the order they were sent
// (docs/security.md, "Limits before authentication"). Node parses pipelined requests as they arrive and hands
// each to Fastify at once, so a PUT then a DELETE of one key sent together ran side by side
// and the DELETE could take the smaller version, leaving the key alive. Node already writes
// the answers in order; this makes each request wait for the one before it on its socket.
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Whose turn it is on one connection. */
interface ConnectionTurn {
  busy: boolean;
  /** Continuations of the requests queued behind the current one, oldest first. */
  waiting: Array<() => void>;
}

export function orderRequestsPerConnection(app: FastifyInstance): void {
  const turns = new WeakMap<Socket, ConnectionTurn>();
  app.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket;
    let turn = turns.get(socket);
    if (turn === undefined) {
      const created: ConnectionTurn = { busy: false, waiting: [] };
      turn = created;
      turns.set(socket, created);
      // Requests still queued when the client goes away are never run: nobody can read
      // their answers, and their continuations should not outlive the socket.
      socket.once('close', () => (created.waiting.length = 0));
    }
    const current = turn;
    let holding = false;
    const start = () => {
      holding = true;
      done();
    };
    // 'close' comes once the answer is written, or when the connection dies under it:
    // either way the next request may go.
    reply.raw.once('close', () => {
      if (!holding) {
        const index = current.waiting.indexOf(start);
        if (index >= 0) current.waiting.splice(index, 1);
        return;
      }
      const next = current.waiting.shift();
      if (next === undefined) current.busy = false;
      else next();
    });
    if (current.busy) {
      current.waiting.push(start);
      return;
    }
    current.busy = true;
    start();
  });
}
