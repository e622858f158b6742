// An incremental reader of Server-Sent Events (the WHATWG HTML standard's "event stream"
// format) for bodies read with fetch, where EventSource cannot be used because it sends no
// Authorization header. Bytes arrive in chunks split anywhere: inside a UTF-8 character
// (TextDecoder's stream mode keeps the partial bytes), and between the CR and LF of a line
// end (a CR ends the line at once and a LF right after it is skipped, even in the next
// chunk). Lines end with LF, CRLF or CR; a blank line dispatches the event; lines starting
// with ':' are comments. Only what the watch feed needs is kept: event name, data, id, retry.

/** One dispatched event. */
export interface ServerSentEvent {
  /** The `event:` field; `message` when the event named none. */
  event: string;
  /** The `data:` lines joined with LF. */
  data: string;
  /** The stream's last event id when this event was dispatched (ids carry over to later events, as the standard says). */
  id: string;
  /** Whether this event itself carried an `id:` field. */
  hasId: boolean;
  /** A `retry:` field's reconnection time, in ms, when this event carried one. */
  retryMs?: number;
}

/** The stream broke the parser's bound: a line or an event longer than `charsMax`. */
export class ServerSentEventsTooLongError extends Error {
  constructor(charsMax: number) {
    super(`an event-stream line or event exceeded ${charsMax} characters: the stream is not a ringkv watch, or a value is larger than this client accepts`);
    this.name = 'ServerSentEventsTooLongError';
  }
}

const lineFeed = 10;
const carriageReturn = 13;

export class ServerSentEventParser {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly charsMax: number;
  /** The part of a line seen so far (chunks split lines anywhere). */
  private line = '';
  /** A CR ended the last line: a LF that comes next belongs to it. */
  private skipLineFeed = false;
  private atStreamStart = true;
  private eventName = '';
  private dataLines: string[] = [];
  private dataChars = 0;
  private lastEventId = '';
  private eventHasId = false;
  private retryMs: number | undefined;

  /** `charsMax` bounds one line and one event's data, so a stream that never ends a line cannot fill memory. */
  constructor(charsMax: number) {
    this.charsMax = charsMax;
  }

  /** The events completed by this chunk of the body, in order. */
  push(chunk: Uint8Array): ServerSentEvent[] {
    return this.pushText(this.decoder.decode(chunk, { stream: true }));
  }

  /**
   * The body ended: an event not closed by a blank line is dropped, as the standard says (it
   * may be cut short). Returns what the decoder still held, which is never a whole event.
   */
  end(): ServerSentEvent[] {
    const events = this.pushText(this.decoder.decode());
    this.line = '';
    this.resetEvent();
    return events;
  }

  private pushText(text: string): ServerSentEvent[] {
    let start = 0;
    if (this.atStreamStart && text.length > 0) {
      this.atStreamStart = false;
      // One byte-order mark at the very start of the stream is not part of the first line.
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    const events: ServerSentEvent[] = [];
    for (let index = start; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code !== lineFeed && code !== carriageReturn) continue;
      if (this.skipLineFeed && code === lineFeed && index === start) {
        // The LF of a CRLF whose CR closed the previous line.
        this.skipLineFeed = false;
        start = index + 1;
        continue;
      }
      this.appendToLine(text, start, index);
      this.takeLine(events);
      this.skipLineFeed = code === carriageReturn;
      start = index + 1;
    }
    if (start < text.length) {
      this.skipLineFeed = false;
      this.appendToLine(text, start, text.length);
    }
    return events;
  }

  private appendToLine(text: string, from: number, to: number): void {
    if (this.line.length + (to - from) > this.charsMax) throw new ServerSentEventsTooLongError(this.charsMax);
    this.line += text.slice(from, to);
  }

  /** Interprets the completed line: a blank one dispatches the event, a comment is skipped, anything else is a field. */
  private takeLine(events: ServerSentEvent[]): void {
    const line = this.line;
    this.line = '';
    if (line === '') {
      const event = this.dispatch();
      if (event !== undefined) events.push(event);
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    this.takeField(field, value);
  }

  private takeField(field: string, value: string): void {
    switch (field) {
      case 'event':
        this.eventName = value;
        return;
      case 'data':
        this.dataChars += value.length + 1;
        if (this.dataChars > this.charsMax) throw new ServerSentEventsTooLongError(this.charsMax);
        this.dataLines.push(value);
        return;
      case 'id':
        // An id holding NUL is ignored (the standard), so it cannot end up in a header.
        if (value.includes('\0')) return;
        this.lastEventId = value;
        this.eventHasId = true;
        return;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        return;
      default:
        // Fields this reader does not know are ignored, as the standard says.
        return;
    }
  }

  /** The event the blank line closes, or undefined when it had no data (such events are not dispatched). */
  private dispatch(): ServerSentEvent | undefined {
    const hasData = this.dataLines.length > 0;
    const event: ServerSentEvent = {
      event: this.eventName === '' ? 'message' : this.eventName,
      data: this.dataLines.join('\n'),
      id: this.lastEventId,
      hasId: this.eventHasId,
      ...(this.retryMs === undefined ? {} : { retryMs: this.retryMs }),
    };
    this.resetEvent();
    return hasData ? event : undefined;
  }

  private resetEvent(): void {
    this.eventName = '';
    this.dataLines = [];
    this.dataChars = 0;
    this.eventHasId = false;
    this.retryMs = undefined;
  }
}
