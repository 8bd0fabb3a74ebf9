// The live event stream (GET /api/events, Server-Sent Events): a snapshot
// first, then deltas. EventSource reconnects by itself after a dropped
// connection and sends Last-Event-ID, so the server replays what was missed
// (or sends a fresh snapshot when it cannot). When the browser gives up (for
// example on a 503 "too many streams"), we reopen with backoff and pass the
// last id in the query string. One stream per page: a panel that is not the
// page's own (the clerk's village panel) shares it through `follow`.

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
const DOWN_AFTER_MS = 2500;   // routine reconnects (the server ends streams every ~10 min) show nothing

const followers = new Set();   // {kinds: Set<string>, fn}
const running = new Set();     // started LiveStreams

/**
 * Receive `kinds` from the page's stream (started now or later) without opening another one
 * (DESIGN.md §7: a stream holds a server thread). `fn(kind, data, id)` runs for each such event,
 * and `fn("snapshot", null, id)` after a fresh snapshot: events may have been missed, reload.
 * Followers run after the page's own handler, each on its own (an error in one stops no other).
 * @param {string[]} kinds
 * @param {(kind: string, data: object|null, id: number|null) => void} fn
 * @returns {() => void} stops following
 */
export function follow(kinds, fn) {
  const f = { kinds: new Set(kinds), fn };
  followers.add(f);
  for (const s of running) for (const kind of f.kinds) s._listen(kind);
  return () => followers.delete(f);
}

function tellFollowers(kind, data, id) {
  for (const f of followers) {
    if (kind === "snapshot" || f.kinds.has(kind)) queueMicrotask(() => f.fn(kind, data, id));
  }
}

export class LiveStream {
  /**
   * @param {object} o
   * @param {string|(() => string)} [o.url]  a function is asked at each (re)connect (the kiosk's URL carries
   *   its device token, which pairing or a revoke changes)
   * @param {string[]} o.kinds   event names to receive besides "snapshot"
   * @param {(snap: object) => void} o.onSnapshot
   * @param {(kind: string, data: object, id: number) => void} o.onEvent
   * @param {(state: "open"|"down") => void} [o.onStatus]
   */
  constructor({ url = "/api/events", kinds = [], onSnapshot, onEvent, onStatus = () => {} }) {
    Object.assign(this, { url, kinds, onSnapshot, onEvent, onStatus });
    this.lastId = null;
    this.source = null;
    this.listening = new Set();   // kinds the current connection delivers
    this.attempt = 0;
    this.retryTimer = null;
    this.downTimer = null;
    this.isDown = false;
    this.stopped = false;
    this.snapshots = 0;
  }

  start() {
    this.stopped = false;
    running.add(this);
    this._open();
    return this;
  }

  stop() {
    this.stopped = true;
    running.delete(this);
    clearTimeout(this.retryTimer);
    clearTimeout(this.downTimer);
    if (this.source) this.source.close();
    this.source = null;
  }

  /** Drop the connection and open a fresh one (tests use this to simulate a network blip). */
  reconnect() {
    if (this.source) this.source.close();
    this.source = null;
    this._markTrouble();
    this._open();
  }

  _base() {
    return typeof this.url === "function" ? this.url() : this.url;
  }

  /** Reconnect if the URL changed since this connection opened (the kiosk was paired or its token dropped). */
  refreshUrl() {
    if (this.source && this._base() !== this.openedWith) this.reconnect();
  }

  _open() {
    if (this.stopped) return;
    const base = this._base();
    this.openedWith = base;
    const sep = base.includes("?") ? "&" : "?";   // the kiosk's URL has its own query (scope, device)
    const url = this.lastId !== null ? `${base}${sep}last_event_id=${encodeURIComponent(this.lastId)}` : base;
    const src = new EventSource(url);
    this.source = src;
    src.addEventListener("open", () => {
      this.attempt = 0;
      this._markOpen();
    });
    src.addEventListener("error", () => {
      if (this.source !== src) return;
      this._markTrouble();
      if (src.readyState === EventSource.CLOSED) {
        // The browser will not retry (HTTP error status): we do, with backoff.
        src.close();
        this.source = null;
        const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
        this.attempt += 1;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this._open(), delay);
      }
    });
    src.addEventListener("snapshot", (ev) => {
      if (this.source !== src) return;
      this._remember(ev);
      this.snapshots += 1;
      this._markOpen();
      tellFollowers("snapshot", null, this.lastId);
      this.onSnapshot(JSON.parse(ev.data));
    });
    this.listening = new Set();
    for (const kind of this.kinds) this._listen(kind);
    for (const f of followers) for (const kind of f.kinds) this._listen(kind);
  }

  /** Deliver one more kind from the current connection (`_open` asks each new one for all kinds). */
  _listen(kind) {
    const src = this.source;
    if (!src || this.listening.has(kind)) return;
    this.listening.add(kind);
    const own = this.kinds.includes(kind);
    src.addEventListener(kind, (ev) => {
      if (this.source !== src) return;
      const id = this._remember(ev);
      this._markOpen();
      const data = JSON.parse(ev.data);
      tellFollowers(kind, data, id);
      if (own) this.onEvent(kind, data, id);
    });
  }

  _remember(ev) {
    const id = ev.lastEventId ? Number(ev.lastEventId) : null;
    if (id !== null && !Number.isNaN(id)) this.lastId = id;
    return id;
  }

  _markTrouble() {
    if (this.downTimer || this.isDown) return;
    this.downTimer = setTimeout(() => {
      this.downTimer = null;
      if (!this.source || this.source.readyState !== EventSource.OPEN) {
        this.isDown = true;
        this.onStatus("down");
      }
    }, DOWN_AFTER_MS);
  }

  _markOpen() {
    clearTimeout(this.downTimer);
    this.downTimer = null;
    if (this.isDown) {
      this.isDown = false;
      this.onStatus("open");
    }
  }
}
