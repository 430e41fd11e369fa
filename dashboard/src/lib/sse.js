// A Server-Sent Events parser (the WHATWG event-stream format) for a stream read with fetch():
// EventSource cannot send an Authorization header, so the dashboard reads /api/v1/events itself.
// Feed it text chunks as they arrive (split anywhere); it calls onEvent for each complete event.

/**
 * @typedef {{id: string | null, event: string, data: string}} SseEvent
 */

export class SseParser {
  /** @param {(e: SseEvent) => void} onEvent @param {(ms: number) => void} [onRetry] */
  constructor(onEvent, onRetry) {
    this.onEvent = onEvent;
    this.onRetry = onRetry ?? (() => {});
    this.buffer = '';
    /** @type {string | null} the id of the last event (what Last-Event-ID resumes from) */
    this.lastId = null;
    this.event = '';
    /** @type {string[]} */
    this.data = [];
    /** @type {string | null} */
    this.id = null;
  }

  reset() {
    this.event = '';
    /** @type {string[]} */
    this.data = [];
    /** @type {string | null} */
    this.id = null;
  }

  /** @param {string} chunk */
  push(chunk) {
    this.buffer += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  /** @param {string} line */
  line(line) {
    if (line === '') {
      if (this.data.length > 0) {
        if (this.id !== null) this.lastId = this.id;
        this.onEvent({ id: this.id ?? this.lastId, event: this.event || 'message', data: this.data.join('\n') });
      } else if (this.id !== null) {
        this.lastId = this.id;
      }
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;  // a comment (heartbeat)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}
