// Coalesces outgoing frames: everything queued during one event-loop turn goes to the
// socket in a single write (docs/design.md, "Peer protocol"), which saves a syscall and a TCP
// segment per message under load.
import type { Socket } from 'node:net';

/** Up to this many bytes, queued frames are copied into one buffer; beyond it they are written as they are. */
const concatBytesMax = 64 * 1024;

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
    const frames = this.queued;
    this.queued = [];
    if (frames.length === 1) {
      this.socket.write(frames[0] as Uint8Array);
      return;
    }
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    if (bytes <= concatBytesMax) {
      this.socket.write(Buffer.concat(frames, bytes));
      return;
    }
    // Large frames (a replica write of a 1 MiB value) are handed to the socket as they are,
    // gathered by one writev: copying them into one buffer first cost the event loop more
    // than the copy into the kernel (issue 13's flood).
    this.socket.cork();
    for (const frame of frames) this.socket.write(frame);
    this.socket.uncork();
  }
}
