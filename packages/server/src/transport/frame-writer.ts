// Coalesces outgoing frames: everything queued during one event-loop turn goes to the
// socket in a single write (docs/design.md, "Peer protocol"), which saves a syscall and a TCP
// segment per message under load.
import type { Socket } from 'node:net';

export class FrameWriter {
  private queued: Uint8Array[] = [];
  private scheduled = false;
  private readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  send(frame: Uint8Array): void {
    this.queued.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.queued.length === 0 || this.socket.destroyed) {
      this.queued = [];
      return;
    }
    const batch = this.queued.length === 1 ? (this.queued[0] as Uint8Array) : Buffer.concat(this.queued);
    this.queued = [];
    this.socket.write(batch);
  }
}
