// Splits a byte stream into length-prefixed frame payloads. Bytes arrive in arbitrary
// chunks; a frame may span many chunks and a chunk may hold many frames. A length over
// the limit is refused before any of its bytes are buffered. The limit can change: a peer
// connection starts with a small one and raises it once the peer has authenticated, so a
// stranger cannot make the node hold a large partial frame.
import { invariant } from '../assert.js';
import { frameBytesMax } from '../limits.js';
import { CodecError } from './codec.js';

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private bytesMax: number;

  constructor(bytesMax = frameBytesMax) {
    this.bytesMax = bytesMax;
  }

  /** Changes the largest frame accepted from now on (at most frameBytesMax). */
  setBytesMax(bytesMax: number): void {
    invariant(Number.isInteger(bytesMax) && bytesMax >= 4 && bytesMax <= frameBytesMax, `frame limit ${bytesMax} is not within 4..${frameBytesMax}`);
    this.bytesMax = bytesMax;
  }

  /** Adds bytes and returns every frame payload now complete. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 4) return frames;
      const head = this.peek(4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (length > this.bytesMax) throw new CodecError(`frame length ${length} exceeds ${this.bytesMax} bytes`);
      if (this.buffered < 4 + length) return frames;
      this.take(4);
      frames.push(this.take(length));
    }
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peek(count: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    if (first.length >= count) return first.subarray(0, count);
    this.coalesce();
    return (this.chunks[0] as Uint8Array).subarray(0, count);
  }

  private take(count: number): Uint8Array {
    let first = this.chunks[0] as Uint8Array;
    if (first.length < count) {
      this.coalesce();
      first = this.chunks[0] as Uint8Array;
    }
    const taken = first.subarray(0, count);
    if (first.length === count) this.chunks.shift();
    else this.chunks[0] = first.subarray(count);
    this.buffered -= count;
    return taken;
  }

  private coalesce(): void {
    const joined = new Uint8Array(this.buffered);
    let offset = 0;
    for (const chunk of this.chunks) {
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    this.chunks = [joined];
  }
}
